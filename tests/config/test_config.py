"""Invalid configuration fails with a message naming the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config.data import DataConfig
from stacks.config.domain import DomainConfig
from stacks.config.network import NetworkConfig


def _with_network(**changes: object) -> None:
    base = cfg.sandbox()
    dataclasses.replace(base, network=dataclasses.replace(base.network, **changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vpc_cidr": "10.0.0.0/33"}, r"network.vpc_cidr: '10.0.0.0/33' is not a valid IPv4 CIDR"),
        ({"vpc_cidr": "8.8.0.0/16"}, r"network.vpc_cidr: 8.8.0.0/16 is not a private range; allowed: RFC 1918"),
        ({"vpc_cidr": "169.254.0.0/16"}, r"network.vpc_cidr: 169.254.0.0/16 is not a private range"),
        ({"vpc_cidr": "100.64.0.0/16"}, r"network.vpc_cidr: 100.64.0.0/16 is not a private range"),
        ({"vpc_cidr": "10.0.0.0/24"}, r"network.vpc_cidr: prefix /24 is out of range; allowed: /16 to /20"),
        ({"availability_zones": ("eu-central-1a", "eu-central-1b")}, r"network.availability_zones: .* is not three distinct zones"),
        ({"availability_zones": ("eu-central-1a", "eu-central-1a", "eu-central-1b")}, r"not three distinct zones"),
        ({"availability_zones": ("eu-west-1a", "eu-central-1b", "eu-central-1c")}, r"'eu-west-1a' is not a zone of eu-central-1"),
        ({"nat_gateways": 0}, r"network.nat_gateways: 0 is out of range; allowed: a number from 1 to 3"),
        ({"interface_endpoint_azs": 4}, r"network.interface_endpoint_azs: 4 is out of range"),
        ({"s3_prefix_list_id": "com.amazonaws.eu-central-1.s3"}, r"network.s3_prefix_list_id: .* is not a prefix list ID; allowed: pl-"),
        ({"dynamodb_prefix_list_id": "pl-XYZ"}, r"network.dynamodb_prefix_list_id: 'pl-XYZ' is not a prefix list ID"),
        ({"dynamodb_prefix_list_id": "pl-6ea54007"}, r"network.s3_prefix_list_id: the CloudFront, S3 and DynamoDB prefix lists are not distinct"),
    ],
)
def test_invalid_network(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _with_network(**changes)


def test_log_retention_must_be_a_cloudwatch_value() -> None:
    with pytest.raises(cfg.ConfigError, match=r"log_retention_days: 42 days is not a CloudWatch Logs retention; allowed: 1, 3, 5"):
        dataclasses.replace(cfg.sandbox(), log_retention_days=42)


def test_production_keeps_logs_a_year_and_retains_state() -> None:
    with pytest.raises(cfg.ConfigError, match=r"log_retention_days: 30 is below one year in production"):
        dataclasses.replace(cfg.production(), log_retention_days=30)
    with pytest.raises(cfg.ConfigError, match=r"retain_stateful: production must retain"):
        dataclasses.replace(cfg.production(), retain_stateful=False)


def test_unknown_environment_and_bad_account() -> None:
    with pytest.raises(cfg.ConfigError, match=r"environments: 'staging' is not allowed; allowed: sandbox, production"):
        cfg.load("staging", None)
    with pytest.raises(cfg.ConfigError, match=r"production.account: '1234' is not an AWS account ID"):
        cfg.load("production", "1234")


def test_object_lock_settings() -> None:
    with pytest.raises(cfg.ConfigError, match=r"data.object_lock_mode: 'LEGAL' is not allowed; allowed: COMPLIANCE, GOVERNANCE"):
        DataConfig(object_lock_mode="LEGAL", object_lock_days=1).validate(is_production=False)
    with pytest.raises(cfg.ConfigError, match=r"COMPLIANCE for at least 2555 days"):
        dataclasses.replace(cfg.production(), data=DataConfig(object_lock_mode="GOVERNANCE", object_lock_days=3000))
    with pytest.raises(cfg.ConfigError, match=r"COMPLIANCE for at least 2555 days"):
        dataclasses.replace(cfg.production(), data=DataConfig(object_lock_mode="COMPLIANCE", object_lock_days=365))


def test_alarm_email_and_domain() -> None:
    with pytest.raises(cfg.ConfigError, match=r"alarm_email: 'ops' is not an e-mail address"):
        dataclasses.replace(cfg.sandbox(), alarm_email="ops")
    with pytest.raises(cfg.ConfigError, match=r"domain.domain_name: app.other.example is outside medivault.example"):
        dataclasses.replace(
            cfg.sandbox(),
            domain=DomainConfig(domain_name="app.other.example", hosted_zone_id="Z0123456789ABC", hosted_zone_name="medivault.example"),
        )
    with pytest.raises(cfg.ConfigError, match=r"domain.hosted_zone_id: 'zone' is not a Route 53 zone ID"):
        dataclasses.replace(
            cfg.sandbox(),
            domain=DomainConfig(domain_name="app.medivault.example", hosted_zone_id="zone", hosted_zone_name="medivault.example"),
        )


def test_shipped_configs_are_valid_and_differ_where_they_should() -> None:
    sandbox, production = cfg.sandbox(), cfg.production()
    assert sandbox.network.nat_gateways == 1 and production.network.nat_gateways == 1
    assert sandbox.data.object_lock_mode == "GOVERNANCE" and production.data.object_lock_mode == "COMPLIANCE"
    assert production.data.object_lock_days >= 2555
    assert isinstance(production.network, NetworkConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        production.name = "sandbox"  # type: ignore[misc]


def test_log_retention_mapping_covers_exactly_the_allowed_days() -> None:
    from aws_cdk import aws_logs as logs
    from constructs.log_retention import _BY_DAYS, retention

    from stacks.config.errors import LOG_RETENTION_DAYS

    assert tuple(_BY_DAYS) == LOG_RETENTION_DAYS
    assert retention(731) is logs.RetentionDays.TWO_YEARS and retention(2557) is logs.RetentionDays.SEVEN_YEARS


def test_cache_engine_version_and_layer_version_are_checked() -> None:
    base = cfg.sandbox()
    with pytest.raises(cfg.ConfigError, match=r"data.cache_engine_version \(valkey\): 'banana' is not allowed; allowed: 7.2, 8.0, 8.1"):
        dataclasses.replace(base, data=dataclasses.replace(base.data, cache_engine_version="banana"))
    with pytest.raises(cfg.ConfigError, match=r"data.cache_engine_version \(redis\): '8.0' is not allowed"):
        dataclasses.replace(base, data=dataclasses.replace(base.data, cache_engine="redis", cache_engine_version="8.0"))
    with pytest.raises(cfg.ConfigError, match=r"powertools_layer_version: -3 is out of range"):
        dataclasses.replace(base, powertools_layer_version=-3)
