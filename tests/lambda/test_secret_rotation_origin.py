"""CloudFront origin-header rotation (lambda/mv_secret_rotation, target ``origin-header``), in-process.

Everything runs under moto: Secrets Manager, Elastic Load Balancing v2 (listener rules with
http-header conditions: DescribeRules/ModifyRule), SSM (the parameter in which the Edge stack
publishes the distribution id) and CloudFront (GetDistributionConfig/UpdateDistribution with the ETag). moto does not enforce the ETag, so the
test of optimistic locking checks that the ETag read is the one sent.

The pattern: AWS Security Blog, "How to enhance Amazon CloudFront origin security with AWS WAF and
AWS Secrets Manager" (https://aws.amazon.com/blogs/security/how-to-enhance-amazon-cloudfront-origin-security-with-aws-waf-and-aws-secrets-manager/)
-- the origin accepts the current and the pending value while CloudFront switches; CloudFront's
guide, "Restricting access to Application Load Balancers"
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/restrict-access-to-load-balancer.html).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mv_secret_rotation import handler
from mv_secret_rotation.logic import CheckFailed, RotationRefused
from mv_shared.settings import SettingsError, load

from .rotation_world import SecretsWorld, clients

pytestmark = pytest.mark.requirements("R10", "R9")

HEADER = "X-Origin-Verify"
PARAMETER = "/medivault/test/edge/distribution-id"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
INITIAL = "initialOriginValue0123456789abcdefghijklmnopqrs"


class World(SecretsWorld):
    def __init__(self, *, with_distribution: bool = True) -> None:
        super().__init__(INITIAL)
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"eu-central-1{az}")["Subnet"]["SubnetId"]
            for i, az in enumerate("ab")
        ]
        self.elbv2 = boto3.client("elbv2")
        lb = self.elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]
        self.domain = lb["DNSName"]
        target_group = self.elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
        listener = self.elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}],
        )["Listeners"][0]
        self.rule_arn = self.elbv2.create_rule(
            ListenerArn=listener["ListenerArn"],
            Priority=1,
            Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": HEADER, "Values": [INITIAL]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroupArn"]}],
        )["Rules"][0]["RuleArn"]
        self.cloudfront = boto3.client("cloudfront")
        self.ssm = boto3.client("ssm")
        self.distribution_id = self.create_distribution(self.domain) if with_distribution else None
        self.settings = handler.Settings(
            target="origin-header",
            listener_rule_arn=self.rule_arn,
            header_name=HEADER,
            origin_domain=self.domain,
            distribution_parameter=PARAMETER,
            secret_arn=self.arn,
        )

    def create_distribution(self, domain: str, value: str = INITIAL) -> str:
        origin = {
            "Id": "alb",
            "DomainName": domain,
            "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": HEADER, "HeaderValue": value}]},
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
        }
        config = {
            "CallerReference": domain + value,
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {"TargetOriginId": "alb", "ViewerProtocolPolicy": "https-only", "CachePolicyId": CACHING_DISABLED},
        }
        distribution_id = str(self.cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"])
        # What the Edge stack does (stacks/edge_stack.py): publish the id for the rotation function.
        self.ssm.put_parameter(Name=PARAMETER, Value=distribution_id, Type="String", Overwrite=True)
        return distribution_id

    def run(self, step: str, token: str) -> str:
        return handler.handle(
            self.event(step, token), self.settings, clients(secretsmanager=self.sm, elbv2=self.elbv2, cloudfront=self.cloudfront, ssm=self.ssm)
        )

    def rotate(self) -> str:
        token = self.begin()
        for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
            self.run(step, token)
        return token

    def accepted(self) -> list[str]:
        conditions = self.elbv2.describe_rules(RuleArns=[self.rule_arn])["Rules"][0]["Conditions"]
        return list(conditions[0]["HttpHeaderConfig"]["Values"])

    def sent(self, distribution_id: str | None = None) -> str:
        config = self.cloudfront.get_distribution_config(Id=distribution_id or self.distribution_id)["DistributionConfig"]
        return str(config["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderValue"])


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def test_set_opens_the_two_value_window_before_cloudfront_switches(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    pending = world.value("AWSPENDING")
    assert len(pending) == 48 and pending.isalnum()  # no * or ?: ALB header conditions treat them as wildcards
    world.run("setSecret", token)
    assert world.accepted() == [INITIAL, pending]
    assert world.sent() == pending
    world.run("testSecret", token)


def test_finish_keeps_current_and_previous_and_the_next_rotation_drops_the_oldest(world: World) -> None:
    world.rotate()
    first = world.value("AWSCURRENT")
    assert world.value("AWSPREVIOUS") == INITIAL
    assert world.accepted() == [first, INITIAL]  # edges still sending the old value are admitted
    assert world.sent() == first

    world.rotate()
    second = world.value("AWSCURRENT")
    assert world.accepted() == [second, first]
    assert INITIAL not in world.accepted()
    assert world.sent() == second


def test_steps_are_idempotent_on_retry(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    world.run("setSecret", token)
    assert "already sends" in world.run("setSecret", token)
    world.run("testSecret", token)
    world.run("finishSecret", token)
    assert "already AWSCURRENT" in world.run("finishSecret", token)
    assert world.accepted() == [world.value("AWSCURRENT"), INITIAL]


def test_update_distribution_sends_the_etag_it_read(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    world.cloudfront.meta.events.register("provide-client-params.cloudfront.UpdateDistribution", lambda params, **_: calls.append(params))
    etag = world.cloudfront.get_distribution_config(Id=world.distribution_id)["ETag"]
    token = world.begin()
    world.run("createSecret", token)
    world.run("setSecret", token)
    assert [c["IfMatch"] for c in calls] == [etag]


def test_test_step_fails_when_cloudfront_was_reverted(world: World) -> None:
    """A stack update of the distribution between setSecret and testSecret resolves AWSCURRENT again."""
    token = world.begin()
    world.run("createSecret", token)
    world.run("setSecret", token)
    response = world.cloudfront.get_distribution_config(Id=world.distribution_id)
    config = response["DistributionConfig"]
    config["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderValue"] = INITIAL
    world.cloudfront.update_distribution(Id=world.distribution_id, IfMatch=response["ETag"], DistributionConfig=config)
    with pytest.raises(CheckFailed, match="does not send the pending value"):
        world.run("testSecret", token)
    assert world.value("AWSCURRENT") == INITIAL


def test_first_deploy_without_a_distribution_rotates_the_alb_side_only() -> None:
    """The App stack (and its rotation) exists before the Edge stack creates the distribution."""
    with mock_aws():
        world = World(with_distribution=False)
        world.rotate()
        current = world.value("AWSCURRENT")
        assert world.accepted() == [current, INITIAL]
        # The Edge stack, created now, resolves AWSCURRENT: a value the rule accepts.
        assert world.sent(world.create_distribution(world.domain, current)) in world.accepted()


def test_a_distribution_that_does_not_front_this_origin_is_refused(world: World) -> None:
    """The parameter must name a distribution whose origin is this ALB and sends the header."""
    other = world.create_distribution("other-origin.example.org")
    token = world.begin()
    world.run("createSecret", token)
    with pytest.raises(RotationRefused, match="sends no X-Origin-Verify header to"):
        world.run("setSecret", token)
    assert world.sent(other) == INITIAL
    assert world.accepted() == [INITIAL, world.value("AWSPENDING")]  # the rule may admit both; CloudFront unchanged


def test_test_step_repairs_a_rule_reset_by_a_stack_update(world: World) -> None:
    """A stack update of the rule resolves {{resolve:...}} (AWSCURRENT) again and lists one value."""
    token = world.begin()
    world.run("createSecret", token)
    world.run("setSecret", token)
    world.elbv2.modify_rule(
        RuleArn=world.rule_arn, Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": HEADER, "Values": [INITIAL]}}]
    )
    world.run("testSecret", token)
    assert world.accepted() == [INITIAL, world.value("AWSPENDING")]


def test_dynamic_reference_to_awsprevious_has_nothing_to_resolve_at_first_deploy(world: World) -> None:
    """Why the templates reference AWSCURRENT only: a new secret has no AWSPREVIOUS version, and
    GetSecretValue (what a {{resolve:secretsmanager:...:AWSPREVIOUS}} reference calls) answers
    ResourceNotFoundException (Secrets Manager API reference, GetSecretValue), failing the deploy."""
    with pytest.raises(world.sm.exceptions.ResourceNotFoundException):
        world.sm.get_secret_value(SecretId=world.arn, VersionStage="AWSPREVIOUS")


def test_settings_name_the_missing_variables() -> None:
    with pytest.raises(
        SettingsError,
        match=r"origin-header needs environment variables SECRET_ARN, LISTENER_RULE_ARN, HEADER_NAME, ORIGIN_DOMAIN, DISTRIBUTION_PARAMETER$",
    ):
        load(handler.Settings, {"ROTATION_TARGET": "origin-header"})
