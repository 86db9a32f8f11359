"""EncryptedCache in a bare stack: the AUTH secret carries the PHI tag (it opens the cache), the sandbox's
single node is acknowledged only there, and the Graviton trace only for Graviton node types."""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs.encrypted_cache import CacheRotationNetwork, CacheSettings, EncryptedCache

from tests.constructs.conftest import acknowledged, bare_stack, logical_id, tags, traces, vpc

pytestmark = pytest.mark.requirements("R8", "R10")

PRODUCTION = CacheSettings(
    engine="valkey", engine_version="8.0", node_type="cache.r7g.large", replicas=2, snapshot_retention_days=15, rotation_days=30
)


def _build(settings: CacheSettings) -> tuple[EncryptedCache, Template]:
    stack = bare_stack()
    network = vpc(stack)
    cache = EncryptedCache(
        stack,
        "Cache",
        settings=settings,
        vpc=network,
        subnets=ec2.SubnetSelection(subnet_group_name="Data"),
        availability_zones=["eu-central-1a", "eu-central-1b", "eu-central-1c"],
        security_group=ec2.SecurityGroup(stack, "CacheGroup", vpc=network),
        encryption_key=kms.Key(stack, "DataKey"),
        logs_key=kms.Key(stack, "LogsKey"),
        log_retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        rotation_network=CacheRotationNetwork(
            subnets=ec2.SubnetSelection(subnet_group_name="App"), endpoint_security_group=ec2.SecurityGroup(stack, "Endpoints", vpc=network)
        ),
        queue_key=kms.Key(stack, "QueueKey"),
        powertools_layer_version=27,
    )
    return cache, Template.from_stack(stack)


@pytest.fixture(scope="module")
def production() -> tuple[EncryptedCache, Template]:
    return _build(PRODUCTION)


def test_auth_secret_is_tagged_phi(production: tuple[EncryptedCache, Template]) -> None:
    cache, template = production
    resources = template.to_json()["Resources"]
    assert tags(resources[logical_id(cache.auth_secret)])["data-class"] == "phi"
    assert "data-class" not in tags(resources[logical_id(cache.slow_log)])


def test_single_node_acknowledged_only_in_the_sandbox(production: tuple[EncryptedCache, Template]) -> None:
    cache, template = production
    assert "AwsSolutions-AEC4" not in acknowledged(template, logical_id(cache.replication_group))
    sandbox, template = _build(dataclasses.replace(PRODUCTION, replicas=0, node_type="cache.t4g.micro"))
    assert "AwsSolutions-AEC4" in acknowledged(template, logical_id(sandbox.replication_group))


def test_graviton_trace_only_for_graviton_nodes(production: tuple[EncryptedCache, Template]) -> None:
    cache, _ = production
    assert [t["requirements"] for t in traces(cache)] == [["R8", "R10"], ["R8"]]
    assert "rotated every 30 days" in traces(cache)[0]["why"]
    intel, _ = _build(dataclasses.replace(PRODUCTION, node_type="cache.r6i.large"))
    assert [t["requirements"] for t in traces(intel)] == [["R8", "R10"]]
