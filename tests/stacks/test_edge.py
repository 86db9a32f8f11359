"""The CloudFront distribution (eu-central-1) wired to the us-east-1 web ACL and certificate.

Until the app tier is wired into the stage, the edge is synthesized on a test stage with a stand-in
ALB and origin secret in their own stack (tests/stacks/edge_stand_in.py): production with a
configured domain, sandbox without (review placeholder). Gates and cfn-lint run on all of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.config import edge
from tests.conftest import Synthesized, resources_of
from tests.stacks.edge_stand_in import DOMAIN, EdgeSynth, synthesize_with_stand_in
from tests.stacks.test_cfn_lint import _lint

pytestmark = pytest.mark.requirements("R9", "R5")

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Renaming these replaces the access-log bucket / its key.
PINNED = {"AccessLogsKey93D4C843": "AWS::KMS::Key", "AccessLogs8B620ECA": "AWS::S3::Bucket"}


@pytest.fixture(scope="module")
def edge_synth(tmp_path_factory: pytest.TempPathFactory) -> EdgeSynth:
    return synthesize_with_stand_in(tmp_path_factory.mktemp("cdk-edge"), {"production": "210987654321", "sandbox": "123456789012"})


def _template(edge_synth: EdgeSynth, environment: str, stack: str) -> dict[str, Any]:
    stage = edge_synth.stages[environment]
    target = {"edge": edge_synth.edges[environment], "edge_global": stage.edge_global, "app": edge_synth.stand_ins[environment]}[stack]
    path = Path(stage.outdir) / target.template_file
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _distribution(edge_synth: EdgeSynth, environment: str) -> dict[str, Any]:
    (dist,) = _of_type(_template(edge_synth, environment, "edge"), "AWS::CloudFront::Distribution").values()
    config: dict[str, Any] = dist["Properties"]["DistributionConfig"]
    return config


def _logical_id(edge_synth: EdgeSynth, environment: str, attribute: str) -> str:
    """The logical ID of what the app tier exposes (``load_balancer``, ``origin_secret``)."""
    app = edge_synth.stand_ins[environment]
    resource = getattr(app, attribute).node.default_child
    return str(app.resolve(resource.logical_id))


def _output_value(edge_synth: EdgeSynth, environment: str, producer: str, reference: dict[str, Any]) -> Any:
    """Follow a Fn::GetStackOutput to the producer's output value."""
    ref = reference["Fn::GetStackOutput"]
    template = _template(edge_synth, environment, producer)
    stack = {"edge_global": edge_synth.stages[environment].edge_global, "app": edge_synth.stand_ins[environment]}[producer]
    assert (ref["StackName"], ref["Region"]) == (stack.stack_name, stack.region)
    return template["Outputs"][ref["OutputName"]]["Value"]


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_web_acl_comes_from_the_us_east_1_stack(edge_synth: EdgeSynth, environment: str) -> None:
    edge_stack = edge_synth.edges[environment]
    global_stack = edge_synth.stages[environment].edge_global
    assert (edge_stack.region, global_stack.region) == ("eu-central-1", "us-east-1")
    assert global_stack in edge_stack.dependencies, "the web ACL must exist before the distribution"
    web_acl_id = _distribution(edge_synth, environment)["WebACLId"]
    acl_id = next(iter(_of_type(_template(edge_synth, environment, "edge_global"), "AWS::WAFv2::WebACL")))
    assert _output_value(edge_synth, environment, "edge_global", web_acl_id) == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_certificate_comes_from_the_us_east_1_stack_with_tls_1_2_2021(edge_synth: EdgeSynth) -> None:
    config = _distribution(edge_synth, "production")
    viewer = config["ViewerCertificate"]
    assert (viewer["MinimumProtocolVersion"], viewer["SslSupportMethod"]) == ("TLSv1.2_2021", "sni-only")
    (cert_id, cert) = next(iter(_of_type(_template(edge_synth, "production", "edge_global"), "AWS::CertificateManager::Certificate").items()))
    assert _output_value(edge_synth, "production", "edge_global", viewer["AcmCertificateArn"]) == {"Ref": cert_id}
    assert cert["Properties"]["DomainName"] == DOMAIN.domain_name
    assert cert["Properties"]["ValidationMethod"] == "DNS"
    assert cert["Properties"]["DomainValidationOptions"] == [{"DomainName": DOMAIN.domain_name, "HostedZoneId": DOMAIN.hosted_zone_id}]
    assert config["Aliases"] == [DOMAIN.domain_name]
    assert "Rules" not in _template(edge_synth, "production", "edge_global") or "RequireDomain" not in _template(
        edge_synth, "production", "edge_global"
    ).get("Rules", {})


def test_without_a_domain_default_certificate_is_acknowledged_and_deploy_refused(edge_synth: EdgeSynth) -> None:
    template = _template(edge_synth, "sandbox", "edge")
    assert "ViewerCertificate" not in _distribution(edge_synth, "sandbox")  # the *.cloudfront.net default
    assert "Aliases" not in _distribution(edge_synth, "sandbox")
    (dist,) = _of_type(template, "AWS::CloudFront::Distribution").values()
    (ack,) = dist["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert ack["id"] == "AwsSolutions-CFR4" and "deploy guard" in ack["reason"]
    assert "no domain is configured" in template["Rules"]["RequireDomain"]["Assertions"][0]["AssertDescription"]
    assert _of_type(template, "AWS::Route53::RecordSet") == {}
    # With a domain nothing is acknowledged on the distribution and nothing refuses the deploy.
    (prod,) = _of_type(_template(edge_synth, "production", "edge"), "AWS::CloudFront::Distribution").values()
    assert "cdk_nag" not in prod.get("Metadata", {})
    assert "RequireDomain" not in _template(edge_synth, "production", "edge").get("Rules", {})


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_origin_is_the_alb_over_tls_1_2_with_the_secret_header(edge_synth: EdgeSynth, environment: str) -> None:
    (origin,) = _distribution(edge_synth, environment)["Origins"]
    assert origin["CustomOriginConfig"] == {
        "HTTPSPort": 443,
        "OriginProtocolPolicy": "https-only",
        "OriginSSLProtocols": ["TLSv1.2"],
        "OriginReadTimeout": 30,
        "OriginKeepaliveTimeout": 5,
    }
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == edge_synth.stand_ins[environment].origin_header_name
    prefix, secret_ref, suffix = header["HeaderValue"]["Fn::Join"][1]
    assert (prefix, suffix) == ("{{resolve:secretsmanager:", ":SecretString:::}}")
    app = edge_synth.stand_ins[environment]
    assert _output_value(edge_synth, environment, "app", secret_ref) == app.resolve(app.origin_secret.secret_arn)
    alb_id = _logical_id(edge_synth, environment, "load_balancer")
    if environment == "production":
        assert origin["DomainName"] == f"origin.{DOMAIN.domain_name}"
    else:
        assert _output_value(edge_synth, environment, "app", origin["DomainName"]) == {"Fn::GetAtt": [alb_id, "DNSName"]}


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_viewer_protocol_http_versions_price_class_and_geo(edge_synth: EdgeSynth, environment: str) -> None:
    config = _distribution(edge_synth, environment)
    assert config["HttpVersion"] == "http2and3"
    assert config["IPV6Enabled"] is True
    assert config["PriceClass"] == "PriceClass_100"
    assert config["Restrictions"] == {"GeoRestriction": {"RestrictionType": "whitelist", "Locations": [*edge.EU_EEA_COUNTRIES, "US"]}}
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert {b["ViewerProtocolPolicy"] for b in behaviors} == {"https-only"}


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_api_and_phi_are_never_cached_static_assets_are(edge_synth: EdgeSynth, environment: str) -> None:
    config = _distribution(edge_synth, environment)
    headers_policy = {"Ref": next(iter(_of_type(_template(edge_synth, environment, "edge"), "AWS::CloudFront::ResponseHeadersPolicy")))}
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == CACHING_DISABLED
    assert default["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert sorted(default["AllowedMethods"]) == sorted(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"])
    assert default["ResponseHeadersPolicyId"] == headers_policy
    static = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(static) == {"/static/*", "/assets/*"}
    for behavior in static.values():
        assert behavior["CachePolicyId"] == CACHING_OPTIMIZED
        assert "OriginRequestPolicyId" not in behavior  # no cookies / auth forwarded where responses are cached
        assert behavior["AllowedMethods"] == ["GET", "HEAD"]
        assert behavior["ResponseHeadersPolicyId"] == headers_policy


def test_response_headers_policy(edge_synth: EdgeSynth) -> None:
    (policy,) = _of_type(_template(edge_synth, "production", "edge"), "AWS::CloudFront::ResponseHeadersPolicy").values()
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"] == {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True, "Preload": False, "Override": True}
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "same-origin", "Override": True}
    csp = security["ContentSecurityPolicy"]
    assert csp["Override"] is True
    directives = dict(d.split(" ", 1) if " " in d else (d, "") for d in csp["ContentSecurityPolicy"].split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp["ContentSecurityPolicy"] and "*" not in csp["ContentSecurityPolicy"]
    assert config["RemoveHeadersConfig"] == {"Items": [{"Header": "Server"}, {"Header": "X-Powered-By"}]}


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_access_logs_go_to_an_encrypted_eu_bucket_without_cookies(edge_synth: EdgeSynth, environment: str) -> None:
    template = _template(edge_synth, environment, "edge")
    logging = _distribution(edge_synth, environment)["Logging"]
    assert logging == {"Bucket": {"Fn::GetAtt": ["AccessLogs8B620ECA", "RegionalDomainName"]}, "IncludeCookies": False, "Prefix": "cloudfront/"}
    bucket = template["Resources"]["AccessLogs8B620ECA"]
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["AccessLogsKey93D4C843", "Arn"]}}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == {"production": "Retain", "sandbox": "Delete"}[environment]
    key_policy = json.dumps(template["Resources"]["AccessLogsKey93D4C843"]["Properties"]["KeyPolicy"])
    assert '"Service": "delivery.logs.amazonaws.com"' in key_policy
    for lid, kind in PINNED.items():
        assert template["Resources"][lid]["Type"] == kind


def test_dns_aliases_for_the_domain_and_the_origin(edge_synth: EdgeSynth) -> None:
    records = _of_type(_template(edge_synth, "production", "edge"), "AWS::Route53::RecordSet").values()
    by_name_type = {(r["Properties"]["Name"], r["Properties"]["Type"]): r["Properties"] for r in records}
    assert set(by_name_type) == {
        ("app.medivault.example.", "A"),
        ("app.medivault.example.", "AAAA"),
        ("origin.app.medivault.example.", "A"),
    }
    dist_id = next(iter(_of_type(_template(edge_synth, "production", "edge"), "AWS::CloudFront::Distribution")))
    for record_type in ("A", "AAAA"):
        record = by_name_type[("app.medivault.example.", record_type)]
        assert record["HostedZoneId"] == DOMAIN.hosted_zone_id
        assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [dist_id, "DomainName"]}
    origin = by_name_type[("origin.app.medivault.example.", "A")]
    alb_id = _logical_id(edge_synth, "production", "load_balancer")
    assert "dualstack" in json.dumps(origin["AliasTarget"]["DNSName"])
    assert _output_value(edge_synth, "production", "app", origin["AliasTarget"]["HostedZoneId"]) == {"Fn::GetAtt": [alb_id, "CanonicalHostedZoneID"]}


def test_gates_and_cfn_lint_clean_in_both_regions(edge_synth: EdgeSynth) -> None:
    report = json.loads((edge_synth.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin.get("violations", []) == [], plugin["pluginName"]
    stacks = [s for env in ("production", "sandbox") for s in (edge_synth.edges[env], edge_synth.stages[env].edge_global)]
    assert sorted(s.region for s in stacks) == ["eu-central-1", "eu-central-1", "us-east-1", "us-east-1"]
    templates = [str(Path(s.node.scope.outdir) / s.template_file) for s in stacks]  # type: ignore[union-attr]
    result = _lint(templates)
    assert result.returncode == 0, result.stdout + result.stderr


def test_distribution_refuses_inconsistent_props() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_secretsmanager as secretsmanager
    from constructs.edge_distribution import EdgeDistribution

    from stacks.edge_stack import distribution_settings

    stack = cdk.Stack(cdk.App(), "Props", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    alb = elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        stack, "Alb", load_balancer_arn="arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/a/1", security_group_id="sg-1"
    )
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "origin")
    bucket = s3.Bucket.from_bucket_name(stack, "Logs", "logs")
    cert = acm.Certificate.from_certificate_arn(stack, "Cert", "arn:aws:acm:us-east-1:123456789012:certificate/x")
    common: dict[str, Any] = {
        "load_balancer": alb,
        "origin_secret": secret,
        "web_acl_arn": "arn",
        "settings": distribution_settings(edge.EdgeConfig()),
        "log_bucket": bucket,
    }
    with pytest.raises(ValueError, match="certificate and domain_name go together"):
        EdgeDistribution(stack, "A", origin_header_name="X-Origin-Verify", certificate=cert, **common)
    with pytest.raises(ValueError, match="should be a custom X- header"):
        EdgeDistribution(stack, "B", origin_header_name="Authorization", **common)


def test_alb_certificate_covers_the_origin_name_and_the_listener_checks_the_same_header(edge_synth: EdgeSynth) -> None:
    app_template = _template(edge_synth, "production", "app")
    (cert,) = _of_type(app_template, "AWS::CertificateManager::Certificate").values()
    assert cert["Properties"]["DomainName"] == DOMAIN.domain_name
    assert cert["Properties"]["SubjectAlternativeNames"] == [f"origin.{DOMAIN.domain_name}"]
    (origin,) = _distribution(edge_synth, "production")["Origins"]
    assert origin["DomainName"] == DOMAIN.origin_domain_name
    header = origin["OriginCustomHeaders"][0]["HeaderName"]
    rules = _of_type(app_template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    checked = [c["HttpHeaderConfig"]["HttpHeaderName"] for r in rules for c in r["Properties"]["Conditions"] if "HttpHeaderConfig" in c]
    assert checked == [header]


def test_cloudfront_log_bucket_access_is_itself_logged(synth: Synthesized, environment: str) -> None:
    buckets = resources_of(synth.template(environment, "edge"), "AWS::S3::Bucket")
    assert len(buckets) == 2
    [(cf_id, cf_logs)] = [(lid, b) for lid, b in buckets.items() if "AccessLogs" in lid and "S3AccessLogs" not in lid]
    [(s3_id, s3_logs)] = [(lid, b) for lid, b in buckets.items() if lid != cf_id]
    assert cf_logs["Properties"]["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": s3_id}, "LogFilePrefix": "cloudfront-logs/"}
    sse = s3_logs["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse == {"SSEAlgorithm": "AES256"}  # the only encryption S3 server access logging can deliver to
    assert "cdk_nag" not in cf_logs.get("Metadata", {}) or not any(
        r["id"] in ("AwsSolutions-S1", "HIPAA.Security-S3BucketLoggingEnabled") for r in cf_logs["Metadata"]["cdk_nag"]["rules_to_suppress"]
    )
