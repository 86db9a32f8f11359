"""CloudFrontOnlyAlb in a bare stack: only requests with the secret origin header are forwarded, the secret
is encrypted with the key given, the access-log bucket is evidence, and the L2 subclass keeps logical IDs.

CloudFront -> ALB restriction by a secret custom header, default 403:
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/restrict-access-to-load-balancer.html
ALB access logs support only SSE-S3 destinations:
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs.cloudfront_only_alb import AlbDomain, AlbSettings, CloudFrontOnlyAlb, alb_certificate
from constructs.evidence_protection import EvidenceProtection

from tests.constructs.conftest import acknowledged, bare_stack, logical_id, traces, vpc

pytestmark = pytest.mark.requirements("R5", "R9", "R10")

CERTIFICATE = "arn:aws:acm:eu-central-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
PROTECTION = EvidenceProtection(
    break_glass_principals=("arn:aws:iam::123456789012:role/BreakGlass",), deployment_principals=("arn:aws:iam::123456789012:role/Deploy",)
)


def _settings(**changes: Any) -> AlbSettings:
    values: dict[str, Any] = {
        "origin_header_name": "X-Origin-Verify",
        "deletion_protection": True,
        "access_log_days": 2192,
        "secret_rotation_days": 30,
        "distribution_parameter_name": "/medivault/test/edge/distribution-id",
        "origin_domain_name": None,
        "log_retention": logs.RetentionDays.ONE_YEAR,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
        "powertools_layer_version": 27,
    }
    return AlbSettings(**{**values, **changes})


def _build(**changes: Any) -> tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]:
    stack = bare_stack()
    network = vpc(stack)
    key = kms.Key(stack, "SecretKey")
    group = ec2.SecurityGroup(stack, "AlbGroup", vpc=network, allow_all_outbound=False)
    targets = elbv2.ApplicationTargetGroup(stack, "Tg", vpc=network, port=8080, target_type=elbv2.TargetType.IP)
    alb = CloudFrontOnlyAlb(
        stack,
        "LoadBalancer",
        settings=_settings(**changes),
        vpc=network,
        security_group=group,
        certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE),
        target_group=targets,
        evidence_protection=PROTECTION,
        rotation_subnets=ec2.SubnetSelection(subnet_group_name="App"),
        secret_key=key,
        logs_key=kms.Key(stack, "LogsKey"),
    )
    return stack, alb, key, Template.from_stack(stack)


@pytest.fixture(scope="module")
def production() -> tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]:
    return _build()


def _only(template: Template, resource_type: str) -> tuple[str, Any]:
    [(lid, resource)] = template.find_resources(resource_type).items()
    return lid, resource


def test_forwards_only_requests_with_the_secret_header(production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]) -> None:
    _, alb, _, template = production
    _, rule = _only(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    secret_id, _ = _only(template, "AWS::SecretsManager::Secret")
    [condition] = rule["Properties"]["Conditions"]
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == "X-Origin-Verify"
    # A dynamic reference resolved by CloudFormation: the value is never in the template.
    assert condition["HttpHeaderConfig"]["Values"] == [{"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}]
    assert rule["Properties"]["Priority"] == 1
    [action] = rule["Properties"]["Actions"]
    assert action == {"TargetGroupArn": {"Ref": logical_id(alb.target_group)}, "Type": "forward"}
    listeners = {r["Properties"]["Port"]: r["Properties"] for r in template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()}
    assert listeners[443]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    assert listeners[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    assert listeners[443]["Certificates"] == [{"CertificateArn": CERTIFICATE}]
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"


def test_origin_secret_is_encrypted_with_the_key_given(production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]) -> None:
    _, _, key, template = production
    _, secret = _only(template, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [logical_id(key), "Arn"]}
    assert secret["Properties"]["GenerateSecretString"] == {"ExcludePunctuation": True, "IncludeSpace": False, "PasswordLength": 48}


def test_access_logs_sse_s3_versioned_and_kept_as_evidence(production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]) -> None:
    _, alb, _, template = production
    bucket_id = logical_id(alb.access_log_bucket)
    bucket = template.to_json()["Resources"][bucket_id]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 2192 and rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 2192}
    [policy] = [p for p in template.find_resources("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
    sids = {s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert {"DenyEvidenceDeletion", "DenyEvidenceReconfiguration"} <= sids
    _, alb_resource = _only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb_resource["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket_id} and attributes["access_logs.s3.prefix"] == "alb"
    assert attributes["deletion_protection.enabled"] == "true"
    assert {
        "HIPAA.Security-S3DefaultEncryptionKMS",
        "HIPAA.Security-S3BucketReplicationEnabled",
        "AwsSolutions-S1",
        "HIPAA.Security-S3BucketLoggingEnabled",
    } <= set(acknowledged(template, bucket_id))
    reason = acknowledged(template, bucket_id)["HIPAA.Security-S3DefaultEncryptionKMS"]
    assert "Elastic Load Balancing delivers only to buckets with SSE-S3" in reason and "never request or response bodies" in reason


def test_deletion_protection_acknowledged_only_when_off(production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]) -> None:
    _, alb, _, template = production
    assert "HIPAA.Security-ELBDeletionProtectionEnabled" not in acknowledged(template, logical_id(alb))
    _, alb, _, template = _build(deletion_protection=False, removal_policy=cdk.RemovalPolicy.DESTROY)
    assert "HIPAA.Security-ELBDeletionProtectionEnabled" in acknowledged(template, logical_id(alb))


def test_rotation_targets_the_origin_name_or_the_alb(production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]) -> None:
    def origin(template: Template) -> Any:
        [function] = [
            f
            for f in template.find_resources("AWS::Lambda::Function").values()
            if "ORIGIN_DOMAIN" in f["Properties"].get("Environment", {}).get("Variables", {})
        ]
        return function["Properties"]["Environment"]["Variables"]["ORIGIN_DOMAIN"]

    _, alb, _, template = production
    assert origin(template) == {"Fn::GetAtt": [logical_id(alb), "DNSName"]}
    _, _, _, named = _build(origin_domain_name="origin.app.medivault.example")
    assert origin(named) == "origin.app.medivault.example"


def test_logical_ids_are_those_of_resources_created_directly_in_the_stack(
    production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template],
) -> None:
    """The App stack's ALB, log bucket and secret kept their IDs when this code moved into a construct."""
    _, _, _, template = production
    plain = bare_stack(name="Plain")
    network = vpc(plain)
    expected = {
        logical_id(elbv2.ApplicationLoadBalancer(plain, "LoadBalancer", vpc=network)),
        logical_id(s3.Bucket(plain, "AlbAccessLogs")),
    }
    assert expected <= set(template.to_json()["Resources"])
    assert "OriginSecret" in template.to_json()["Resources"]


def test_traced_on_the_alb(production: tuple[cdk.Stack, CloudFrontOnlyAlb, kms.Key, Template]) -> None:
    _, alb, _, _ = production
    assert [t["requirements"] for t in traces(alb)] == [["R5", "R9"]]


def test_settings_refuse_a_non_custom_header() -> None:
    with pytest.raises(ValueError, match=r"^AlbSettings.origin_header_name: 'Host' is not a custom header"):
        _settings(origin_header_name="Host")


def test_certificate_dns_validated_for_a_domain_else_the_arn() -> None:
    stack = bare_stack()
    domain = AlbDomain(
        domain_name="app.medivault.example",
        origin_domain_name="origin.app.medivault.example",
        hosted_zone_id="Z0123456789ABCDEFGHIJ",
        hosted_zone_name="medivault.example",
    )
    alb_certificate(stack, domain=domain, certificate_arn=CERTIFICATE, placeholder=False)
    template = Template.from_stack(stack)
    _, certificate = _only(template, "AWS::CertificateManager::Certificate")
    assert certificate["Properties"]["SubjectAlternativeNames"] == ["origin.app.medivault.example"]
    assert certificate["Properties"]["ValidationMethod"] == "DNS"
    assert "RequireCertificate" not in template.to_json().get("Rules", {})


def test_placeholder_certificate_refuses_the_deploy() -> None:
    stack = bare_stack()
    cdk.CfnWaitConditionHandle(stack, "AnyResource")  # CloudFormation refuses a template without resources
    certificate = alb_certificate(stack, domain=None, certificate_arn=CERTIFICATE, placeholder=True)
    assert certificate.certificate_arn == CERTIFICATE
    rules = Template.from_stack(stack).to_json()["Rules"]
    assert rules["RequireCertificate"]["Assertions"][0]["Assert"] == {"Fn::Equals": ["review-placeholder", "configured"]}
    stack = bare_stack()
    cdk.CfnWaitConditionHandle(stack, "AnyResource")
    alb_certificate(stack, domain=None, certificate_arn=CERTIFICATE, placeholder=False)
    assert "RequireCertificate" not in Template.from_stack(stack).to_json().get("Rules", {})
