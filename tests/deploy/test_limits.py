"""Account limits and singletons: what a fresh account allows vs what one stage, and two stages in one
account, would use; and the resources an account can have only one of per region.

Default quotas (Service Quotas "applied" values can be lower in new accounts; see docs/deploy-rehearsal.md).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.deploy.conftest import switch
from tests.deploy.model import Assembly, Resource

VPC_QUOTAS = "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html"


@dataclass(frozen=True)
class Quota:
    id: str
    limit: int
    url: str
    scope: str  # "region" (per account and region), "vpc", "az", "account" (global)
    count: Callable[[Assembly, Resource], list[str]]  # scope keys this resource consumes one unit of


def _one(resource_type: str, scope: str = "region") -> Callable[[Assembly, Resource], list[str]]:
    def count(assembly: Assembly, resource: Resource) -> list[str]:
        if resource.type != resource_type:
            return []
        if scope == "account":
            return ["global"]
        return [resource.stack.region]

    return count


def _nat_per_az(assembly: Assembly, resource: Resource) -> list[str]:
    if resource.type != "AWS::EC2::NatGateway":
        return []
    subnets = [s for s in assembly.resolve_refs(resource.stack, resource.properties["SubnetId"]) if s.type == "AWS::EC2::Subnet"]
    return [f"{resource.stack.region}/{s.properties['AvailabilityZone']}" for s in subnets]


def _interface_endpoints_per_vpc(assembly: Assembly, resource: Resource) -> list[str]:
    if resource.type != "AWS::EC2::VPCEndpoint" or resource.properties.get("VpcEndpointType") != "Interface":
        return []
    return [v.key for v in assembly.resolve_refs(resource.stack, resource.properties["VpcId"]) if v.type == "AWS::EC2::VPC"]


def _gateway_endpoints(assembly: Assembly, resource: Resource) -> list[str]:
    if resource.type != "AWS::EC2::VPCEndpoint" or resource.properties.get("VpcEndpointType", "Gateway") != "Gateway":
        return []
    return [resource.stack.region]


def _trails(assembly: Assembly, resource: Resource) -> list[str]:
    """A multi-region trail counts against the trail quota of every region."""
    if resource.type != "AWS::CloudTrail::Trail":
        return []
    if resource.properties.get("IsMultiRegionTrail"):
        return sorted({s.region for s in assembly.stacks})
    return [resource.stack.region]


def _cloudfront_acls(assembly: Assembly, resource: Resource) -> list[str]:
    if resource.type != "AWS::WAFv2::WebACL":
        return []
    return ["global" if resource.properties["Scope"] == "CLOUDFRONT" else resource.stack.region]


QUOTAS = [
    Quota("vpcs-per-region", 5, VPC_QUOTAS, "region", _one("AWS::EC2::VPC")),
    Quota("internet-gateways-per-region", 5, VPC_QUOTAS, "region", _one("AWS::EC2::InternetGateway")),
    Quota("nat-gateways-per-az", 5, VPC_QUOTAS, "az", _nat_per_az),
    Quota("interface-endpoints-per-vpc", 50, VPC_QUOTAS, "vpc", _interface_endpoints_per_vpc),
    Quota("gateway-endpoints-per-region", 20, VPC_QUOTAS, "region", _gateway_endpoints),
    Quota(
        "elastic-ips-per-region",
        5,
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html#using-instance-addressing-limit",
        "region",
        _one("AWS::EC2::EIP"),
    ),
    Quota("security-groups-per-region", 2500, VPC_QUOTAS, "region", _one("AWS::EC2::SecurityGroup")),
    Quota("trails-per-region", 5, "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html", "region", _trails),
    Quota(
        "config-rules-per-region",
        1000,
        "https://docs.aws.amazon.com/config/latest/developerguide/configlimits.html",
        "region",
        _one("AWS::Config::ConfigRule"),
    ),
    Quota(
        "albs-per-region",
        50,
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html",
        "region",
        _one("AWS::ElasticLoadBalancingV2::LoadBalancer"),
    ),
    Quota(
        "cloudfront-distributions",
        500,
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html",
        "account",
        _one("AWS::CloudFront::Distribution", "account"),
    ),
    Quota("waf-web-acls", 100, "https://docs.aws.amazon.com/waf/latest/developerguide/limits.html", "region", _cloudfront_acls),
    Quota(
        "event-rules-per-bus",
        300,
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
        "region",
        _one("AWS::Events::Rule"),
    ),
]


def usage(assembly: Assembly, quota: Quota, *, merge_accounts: bool) -> Counter[str]:
    """Units used per (account, scope key); with ``merge_accounts`` every stage shares one account."""
    used: Counter[str] = Counter()
    for resource in assembly.resources():
        if resource.stack.stage == "Organization":
            continue  # the organisation's management account is not a workload account
        account = "one-account" if merge_accounts else resource.stack.account
        for key in quota.count(assembly, resource):
            used[f"{account}/{key}"] += 1
    return used


@pytest.mark.parametrize("merge_accounts", [False, True], ids=["one-stage-per-account", "both-stages-in-one-account"])
@pytest.mark.parametrize("quota", QUOTAS, ids=[q.id for q in QUOTAS])
def test_default_quotas_hold(assembly: Assembly, quota: Quota, merge_accounts: bool) -> None:
    """Each quota's page is in ``quota.url``; the limit is the documented default."""
    used = usage(assembly, quota, merge_accounts=merge_accounts)
    over = {k: n for k, n in used.items() if n > quota.limit}
    assert not over, f"{quota.id} (default {quota.limit}, {quota.url}): {over}"


LAMBDA_CONCURRENCY_DEFAULT = 1000
UNRESERVED_MINIMUM = 100


def reserved_concurrency(assembly: Assembly, *, merge_accounts: bool) -> Counter[str]:
    reserved: Counter[str] = Counter()
    for function in assembly.of_type("AWS::Lambda::Function"):
        account = "one-account" if merge_accounts else function.stack.account
        reserved[f"{account}/{function.stack.region}"] += int(function.properties.get("ReservedConcurrentExecutions", 0))
    return reserved


@pytest.mark.parametrize("merge_accounts", [False, True], ids=["one-stage-per-account", "both-stages-in-one-account"])
def test_reserved_lambda_concurrency_leaves_the_unreserved_minimum(assembly: Assembly, merge_accounts: bool) -> None:
    """Lambda refuses a reservation that leaves less than 100 unreserved executions in the account and
    region (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html); the default
    concurrency quota is 1,000, but new accounts start with a reduced quota that AWS raises with usage
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). So the stage needs an
    applied quota of at least ``reserved + 100`` — the figure docs/deploy-rehearsal.md gives the
    sandbox preflight."""
    reserved = reserved_concurrency(assembly, merge_accounts=merge_accounts)
    assert reserved, "no function reserves concurrency: the check has nothing to see"
    for scope, total in reserved.items():
        assert total + UNRESERVED_MINIMUM <= LAMBDA_CONCURRENCY_DEFAULT, f"{scope}: {total} reserved needs a quota of {total + UNRESERVED_MINIMUM}"


def test_required_lambda_quota_is_known(assembly: Assembly) -> None:
    """The number the preflight compares with the account's applied quota (service code ``lambda``,
    quota ``L-B99A9384`` Concurrent executions): reserved + 100, per stage. A fresh account whose
    applied quota is below it cannot deploy until AWS raises it. Pinned so a change is a decision."""
    per_stage = reserved_concurrency(assembly, merge_accounts=False)
    assert sorted(per_stage.values()) == sorted(REQUIRED_RESERVED.values()), per_stage


# 18 at e7e42e2; 23 since the cache-token and origin-header rotation functions and the migration
# trigger joined (each reserves its own small concurrency).
REQUIRED_RESERVED = {"sandbox": 23, "production": 23}


# ---- one per account and region ------------------------------------------------------------------
@dataclass(frozen=True)
class Singleton:
    type: str
    url: str
    switch: str | None  # the config switch that makes a stage use the account's existing one


SINGLETONS = [
    Singleton(
        "AWS::Config::ConfigurationRecorder",
        "https://docs.aws.amazon.com/config/latest/developerguide/configlimits.html (one customer-managed recorder per account and region)",
        "use_existing_config_recorder",
    ),
    Singleton(
        "AWS::Config::DeliveryChannel",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-deliverychannel.html "
        "('only one delivery channel per region per AWS account')",
        "use_existing_config_recorder",
    ),
    Singleton(
        "AWS::GuardDuty::Detector",
        "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_limits.html (detectors per Region: 1)",
        "use_existing_guardduty_detector",
    ),
    Singleton(
        "AWS::Macie::Session",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-macie-session.html (one Macie per account and Region)",
        "use_existing_macie_session",
    ),
    Singleton("AWS::SecurityHub::Hub", "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-settingup.html", None),
]


def singletons(assembly: Assembly, audit: dict[str, object], *, merge_accounts: bool) -> dict[str, list[Resource]]:
    found: dict[str, list[Resource]] = defaultdict(list)
    for singleton in SINGLETONS:
        for resource in assembly.of_type(singleton.type):
            if singleton.switch and switch(audit.get(resource.stack.stage), singleton.switch):
                continue  # this stage adopts the account's existing one
            account = "one-account" if merge_accounts else resource.stack.account
            found[f"{singleton.type} in {account}/{resource.stack.region}"].append(resource)
    return found


def test_one_of_each_singleton_per_account_and_region(assembly: Assembly, audit_settings: dict[str, object]) -> None:
    """As configured (each stage in its own account), no account/region gets two of a singleton. Pages: SINGLETONS."""
    clashes = {k: [r.key for r in v] for k, v in singletons(assembly, audit_settings, merge_accounts=False).items() if len(v) > 1}
    assert not clashes, clashes


def test_two_stages_in_one_account_collide_on_the_singletons(assembly: Assembly, audit_settings: dict[str, object]) -> None:
    """The fact the sandbox refusal and the ``use_existing_*`` switches rest on: put both stages in one
    account and exactly the account-wide singletons collide (one of them must adopt the existing
    recorder, detector and Macie session). When a stage's config sets a switch, its resource drops out
    and the collision with it disappears. Pages: SINGLETONS."""
    merged = singletons(assembly, audit_settings, merge_accounts=True)
    colliding = {k.split(" in ")[0] for k, v in merged.items() if len(v) > 1}
    expected = set()
    for singleton in SINGLETONS:
        stages = [
            r.stack.stage
            for r in assembly.of_type(singleton.type)
            if not (singleton.switch and switch(audit_settings.get(r.stack.stage), singleton.switch))
        ]
        regions = Counter(r.stack.region for r in assembly.of_type(singleton.type) if r.stack.stage in stages)
        if any(n > 1 for n in regions.values()):
            expected.add(singleton.type)
    assert colliding == expected
    # With today's configuration both stages create their own: the four singletons collide.
    if not any(switch(a, s.switch) for a in audit_settings.values() for s in SINGLETONS if s.switch):
        assert colliding >= {"AWS::Config::ConfigurationRecorder", "AWS::Config::DeliveryChannel", "AWS::GuardDuty::Detector", "AWS::Macie::Session"}


NAMED = {
    # type -> (name property, scope of uniqueness, page)
    "AWS::S3::Bucket": ("BucketName", "global", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"),
    "AWS::Config::ConfigRule": ("ConfigRuleName", "region", "https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigRule.html"),
    "AWS::Config::ConfigurationRecorder": (
        "Name",
        "region",
        "https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html",
    ),
    "AWS::CloudTrail::Trail": ("TrailName", "region", "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html"),
    "AWS::Backup::BackupVault": ("BackupVaultName", "region", "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html"),
    "AWS::Backup::BackupPlan": (
        ("BackupPlan", "BackupPlanName"),
        "region",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupPlan.html",
    ),
    "AWS::Backup::Framework": ("FrameworkName", "region", "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateFramework.html"),
    "AWS::Backup::RestoreTestingPlan": (
        "RestoreTestingPlanName",
        "region",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateRestoreTestingPlan.html",
    ),
    "AWS::KMS::Alias": ("AliasName", "region", "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"),
    "AWS::Macie::CustomDataIdentifier": ("Name", "region", "https://docs.aws.amazon.com/macie/latest/APIReference/custom-data-identifiers.html"),
    "AWS::WAFv2::WebACL": ("Name", "region", "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html"),
    "AWS::Logs::LogGroup": ("LogGroupName", "region", "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"),
    "AWS::IAM::Role": ("RoleName", "account", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"),
    "AWS::SecretsManager::Secret": ("Name", "region", "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html"),
}


def _named_clashes(assembly: Assembly, audit_settings: dict[str, object], *, merge_accounts: bool) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    for resource_type, (prop, scope, _url) in NAMED.items():
        for resource in assembly.of_type(resource_type):
            value = resource.properties
            for part in (prop,) if isinstance(prop, str) else prop:
                value = value.get(part) if isinstance(value, dict) else None
            if not isinstance(value, str):
                continue  # generated by CloudFormation: unique
            if resource_type == "AWS::Config::ConfigurationRecorder" and switch(
                audit_settings.get(resource.stack.stage), "use_existing_config_recorder"
            ):
                continue
            account = "one-account" if merge_accounts else resource.stack.account
            where = {"global": "global", "account": account, "region": f"{account}/{resource.stack.region}"}[scope]
            seen[f"{resource_type} {value!r} in {where}"].append(resource.key)
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    if merge_accounts:
        clashes = {k: v for k, v in clashes.items() if not k.startswith("AWS::Config::ConfigurationRecorder")}  # a singleton, above
    return clashes


def test_explicit_names_do_not_collide(assembly: Assembly, audit_settings: dict[str, object]) -> None:
    """A physical name must be free where it is created: per region (most), account (IAM) or globally
    (S3). Pages: NAMED."""
    clashes = _named_clashes(assembly, audit_settings, merge_accounts=False)
    assert not clashes, clashes


def test_two_stages_in_one_account_would_clash_so_synth_refuses_them(assembly: Assembly, audit_settings: dict[str, object]) -> None:
    """Merged into one account, the two stages create Config rules of the same names (named per account
    and region), whatever the baseline switches say. So the configuration refuses a shared account
    (stacks/config/environment.py ``require_separate_singletons``) instead of failing the second
    stage's Audit stack half an hour into a deploy."""
    clashes = _named_clashes(assembly, audit_settings, merge_accounts=True)
    assert any(k.startswith("AWS::Config::ConfigRule") for k in clashes), "the merged stages no longer clash: the refusal may be relaxed"
    from stacks import config as cfg

    sandbox = dataclasses.replace(
        cfg.sandbox("123456789012"),
        audit=dataclasses.replace(
            cfg.sandbox().audit, use_existing_config_recorder=True, use_existing_guardduty_detector=True, use_existing_macie_session=True
        ),
    )
    with pytest.raises(cfg.ConfigError, match=r"^sandbox_account: sandbox and production share account 123456789012: .*Config rules"):
        cfg.require_separate_singletons([sandbox, cfg.production("123456789012")])
