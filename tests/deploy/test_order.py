"""Order: each resource is created only after what AWS requires to exist first.

CloudFormation creates resources in parallel unless a ``DependsOn`` or a ``Ref``/``Fn::GetAtt``/
``Fn::Sub`` orders them (within a stack), or the manifest orders the stacks (across stacks and
regions). Each rule below is one requirement AWS documents; each is checked for every resource of
its type in every stack of both stages, transitively (a chain of dependencies counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.deploy.conftest import switch
from tests.deploy.model import Assembly, Resource


@dataclass(frozen=True)
class Requirement:
    id: str
    dependent: str  # resource type that must wait
    needs: str  # what must exist first (prose)
    url: str  # the AWS page (or maintainer's answer) that says so
    # (assembly, resource, audit settings) -> the prerequisites in the assembly, or a problem message
    prerequisites: Callable[[Assembly, Resource, dict[str, object]], list[Resource] | str]
    # resources that must be created *together* with the dependent: same template, no chain either way
    together: Callable[[Assembly, Resource, dict[str, object]], list[Resource]] | None = None


def _same_account(assembly: Assembly, resource: Resource, resource_type: str) -> list[Resource]:
    s = resource.stack
    return [r for r in assembly.of_type(resource_type) if r.stack.account == s.account and r.stack.region == s.region]


def _recorder(assembly: Assembly, resource: Resource, audit: dict[str, object]) -> list[Resource] | str:
    found = _same_account(assembly, resource, "AWS::Config::ConfigurationRecorder")
    if found or switch(audit.get(resource.stack.stage), "use_existing_config_recorder"):
        return found  # an existing recorder in the account (use_existing_config_recorder) exists before any deploy
    return f"no configuration recorder in {resource.stack.account}/{resource.stack.region} and use_existing_config_recorder is off"


def _recording(assembly: Assembly, resource: Resource, audit: dict[str, object]) -> list[Resource] | str:
    """The recorder and the delivery channel: recording starts only once both exist."""
    recorders = _recorder(assembly, resource, audit)
    if isinstance(recorders, str):
        return recorders
    return recorders + [c for c in _same_account(assembly, resource, "AWS::Config::DeliveryChannel") if recorders]


def _macie_session(assembly: Assembly, resource: Resource, audit: dict[str, object]) -> list[Resource] | str:
    found = _same_account(assembly, resource, "AWS::Macie::Session")
    if found or switch(audit.get(resource.stack.stage), "use_existing_macie_session"):
        return found
    return f"no Macie session in {resource.stack.account}/{resource.stack.region} and use_existing_macie_session is off"


def _refs_of_type(assembly: Assembly, resource: Resource, value: object, resource_type: str) -> list[Resource]:
    return [r for r in assembly.resolve_refs(resource.stack, value) if r.type == resource_type]


def _custom_rule_permission(assembly: Assembly, rule: Resource, _: dict[str, object]) -> list[Resource] | str:
    source = rule.properties["Source"]
    if source.get("Owner") != "CUSTOM_LAMBDA":
        return []
    functions = _refs_of_type(assembly, rule, source["SourceIdentifier"], "AWS::Lambda::Function")
    permissions = [
        p
        for p in rule.stack.of_type("AWS::Lambda::Permission")
        if p.properties.get("Principal") == "config.amazonaws.com"
        and set(_refs_of_type(assembly, p, p.properties["FunctionName"], "AWS::Lambda::Function")) & set(functions)
    ]
    return permissions or f"no lambda:InvokeFunction permission for config.amazonaws.com on {source['SourceIdentifier']}"


def _remediated_rule(assembly: Assembly, remediation: Resource, _: dict[str, object]) -> list[Resource] | str:
    name = remediation.properties["ConfigRuleName"]
    rules = _refs_of_type(assembly, remediation, name, "AWS::Config::ConfigRule")
    if not rules and isinstance(name, str):
        rules = [r for r in _same_account(assembly, remediation, "AWS::Config::ConfigRule") if r.properties.get("ConfigRuleName") == name]
    return rules or f"remediation names rule {name!r}, which no template creates"


def _bucket_policies(assembly: Assembly, resource: Resource, bucket_value: object) -> list[Resource]:
    buckets = set(_refs_of_type(assembly, resource, bucket_value, "AWS::S3::Bucket"))
    return [
        p for p in assembly.of_type("AWS::S3::BucketPolicy") if set(_refs_of_type(assembly, p, p.properties["Bucket"], "AWS::S3::Bucket")) & buckets
    ]


def _trail(assembly: Assembly, trail: Resource, _: dict[str, object]) -> list[Resource] | str:
    policies = _bucket_policies(assembly, trail, trail.properties["S3BucketName"])
    keys = _refs_of_type(assembly, trail, trail.properties.get("KMSKeyId"), "AWS::KMS::Key")
    if not policies:
        return "the trail bucket has no bucket policy in the assembly"
    return policies + keys


def _delivery_channel_bucket(assembly: Assembly, channel: Resource, _: dict[str, object]) -> list[Resource] | str:
    return _bucket_policies(assembly, channel, channel.properties["S3BucketName"]) or "the Config bucket has no bucket policy"


def _policies_of_role(assembly: Assembly, role: Resource) -> list[Resource]:
    attached = [p for p in assembly.of_type("AWS::IAM::ManagedPolicy") if role in assembly.resolve_refs(p.stack, p.properties.get("Roles", []))]
    attached += [p for p in assembly.of_type("AWS::IAM::Policy") if role in assembly.resolve_refs(p.stack, p.properties.get("Roles", []))]
    return attached


def _custom_resource_provider(assembly: Assembly, custom: Resource, _: dict[str, object]) -> list[Resource] | str:
    functions = _refs_of_type(assembly, custom, custom.properties["ServiceToken"], "AWS::Lambda::Function")
    if not functions:
        return "its ServiceToken is not a function of the assembly"
    needed: list[Resource] = []
    for function in functions:
        needed.append(function)
        for role in _refs_of_type(assembly, function, function.properties["Role"], "AWS::IAM::Role"):
            needed.extend(_policies_of_role(assembly, role))
    return needed


def _function_role_policies(assembly: Assembly, function: Resource, _: dict[str, object]) -> list[Resource] | str:
    if "VpcConfig" not in function.properties:
        return []
    needed: list[Resource] = []
    for role in _refs_of_type(assembly, function, function.properties["Role"], "AWS::IAM::Role"):
        needed.extend(p for p in _policies_of_role(assembly, role) if "ec2:CreateNetworkInterface" in str(p.properties["PolicyDocument"]))
    return needed or "no policy of the execution role grants ec2:CreateNetworkInterface"


def _rotation_permission(assembly: Assembly, schedule: Resource, _: dict[str, object]) -> list[Resource] | str:
    target = schedule.properties.get("RotationLambdaARN")
    if target is None:
        return []  # managed rotation (HostedRotationLambda or an RDS-managed secret): no permission to wait for
    refs = assembly.resolve_refs(schedule.stack, target)
    apps = [r for r in refs if r.type == "AWS::Serverless::Application"]
    functions = [r for r in refs if r.type == "AWS::Lambda::Function"]
    if apps:
        return apps  # the SAR rotation app grants secretsmanager its permission inside its nested stack
    permissions = [
        p
        for p in schedule.stack.of_type("AWS::Lambda::Permission")
        if p.properties.get("Principal", "").startswith("secretsmanager")
        and set(_refs_of_type(assembly, p, p.properties["FunctionName"], "AWS::Lambda::Function")) & set(functions)
    ]
    return permissions or "no lambda:InvokeFunction permission for secretsmanager on the rotation function"


def _waf_logging(assembly: Assembly, logging: Resource, _: dict[str, object]) -> list[Resource] | str:
    groups = _refs_of_type(assembly, logging, logging.properties["LogDestinationConfigs"], "AWS::Logs::LogGroup")
    if not groups:
        return []  # S3 / Firehose destinations are checked by their own types
    policies = [
        p
        for p in _same_account(assembly, logging, "AWS::Logs::ResourcePolicy")
        if "delivery.logs.amazonaws.com" in str(p.properties.get("PolicyDocument"))
    ]
    return (groups + policies) if policies else "no CloudWatch Logs resource policy for delivery.logs.amazonaws.com in the account/region"


def _ecs_listener(assembly: Assembly, service: Resource, _: dict[str, object]) -> list[Resource] | str:
    groups: set[Resource] = set()
    for lb in service.properties.get("LoadBalancers", []):
        groups |= set(_refs_of_type(assembly, service, lb.get("TargetGroupArn"), "AWS::ElasticLoadBalancingV2::TargetGroup"))
    if not groups:
        return []
    listeners = [
        r
        for r in service.stack.resources.values()
        if r.type in ("AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule")
        and set(
            _refs_of_type(assembly, r, r.properties.get("DefaultActions", r.properties.get("Actions")), "AWS::ElasticLoadBalancingV2::TargetGroup")
        )
        & groups
    ]
    return listeners or "no listener forwards to the service's target group"


def _refs(resource_type: str, prop: str) -> Callable[[Assembly, Resource, dict[str, object]], list[Resource] | str]:
    def find(assembly: Assembly, resource: Resource, _: dict[str, object]) -> list[Resource] | str:
        found = _refs_of_type(assembly, resource, resource.properties.get(prop), resource_type)
        return found or f"{prop} does not reference a {resource_type} of the assembly"

    return find


def _backup_selection(assembly: Assembly, selection: Resource, audit: dict[str, object]) -> list[Resource] | str:
    plan = _refs_of_type(assembly, selection, selection.properties["BackupPlanId"], "AWS::Backup::BackupPlan")
    role = _refs_of_type(assembly, selection, selection.properties["BackupSelection"]["IamRoleArn"], "AWS::IAM::Role")
    return (plan + role) if plan and role else "selection does not reference its plan and role"


def _copy_destinations(assembly: Assembly, plan: Resource, _: dict[str, object]) -> list[Resource] | str:
    needed: list[Resource] = []
    for rule in plan.properties["BackupPlan"]["BackupPlanRule"]:
        for action in rule.get("CopyActions", []):
            vaults = _refs_of_type(assembly, plan, action["DestinationBackupVaultArn"], "AWS::Backup::BackupVault")
            if not vaults:
                return f"copy action of rule {rule['RuleName']} names a vault no template creates"
            needed.extend(vaults)
    return needed


def _session_in_account(assembly: Assembly, resource: Resource, audit: dict[str, object]) -> list[Resource] | str:
    return _macie_session(assembly, resource, audit)


def _detector(assembly: Assembly, resource: Resource, audit: dict[str, object]) -> list[Resource] | str:
    found = _refs_of_type(assembly, resource, resource.properties.get("DetectorId"), "AWS::GuardDuty::Detector")
    return found or "DetectorId does not reference a detector of the assembly"


CONFIG_DC = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-deliverychannel.html"
REQUIREMENTS = [
    Requirement(
        "config-recorder-and-delivery-channel-together",
        "AWS::Config::DeliveryChannel",
        "the account's configuration recorder, created in the same template with no dependency either way",
        CONFIG_DC + " ('Before you can create a delivery channel, you must create a configuration recorder') — yet CloudFormation's "
        "recorder handler waits for a delivery channel before CREATE_COMPLETE, so a DependsOn in either direction fails or deadlocks: "
        "https://github.com/awsdocs/aws-cloudformation-user-guide/pull/1282, https://github.com/awsdocs/aws-cloudformation-user-guide/pull/413, "
        "https://github.com/aws/aws-cdk/issues/9001, https://github.com/go-to-k/cdk-real-drift/pull/1554",
        lambda assembly, resource, audit: [],
        together=lambda assembly, resource, audit: _same_account(assembly, resource, "AWS::Config::ConfigurationRecorder"),
    ),
    Requirement(
        "config-delivery-channel-after-bucket-policy",
        "AWS::Config::DeliveryChannel",
        "the Config bucket's policy (PutDeliveryChannel fails with InsufficientDeliveryPolicyException)",
        "https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html",
        _delivery_channel_bucket,
    ),
    Requirement(
        "config-rule-after-recording",
        "AWS::Config::ConfigRule",
        "the account's configuration recorder and delivery channel (recording started)",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-configrule.html (rules evaluate recorded resources; "
        "the recorder must exist) and https://docs.aws.amazon.com/config/latest/developerguide/setting-up-aws-config-rules-with-console.html",
        _recorder,
    ),
    Requirement(
        "config-custom-rule-after-lambda-permission",
        "AWS::Config::ConfigRule",
        "the lambda:InvokeFunction permission for config.amazonaws.com on its function",
        "https://github.com/aws/aws-cdk/pull/16617 (Config validates the invoke permission when the rule is created); "
        "https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_lambda-functions.html",
        _custom_rule_permission,
    ),
    Requirement(
        "config-remediation-after-rule",
        "AWS::Config::RemediationConfiguration",
        "the Config rule it remediates",
        "https://docs.aws.amazon.com/config/latest/APIReference/API_PutRemediationConfigurations.html (NoSuchConfigRuleException)",
        _remediated_rule,
    ),
    Requirement(
        "cloudtrail-after-bucket-and-key-policy",
        "AWS::CloudTrail::Trail",
        "the trail bucket's policy and the KMS key (whose policy is part of the key)",
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html and "
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html "
        "(CreateTrail: InsufficientS3BucketPolicyException / InsufficientEncryptionPolicyException)",
        _trail,
    ),
    Requirement(
        "backup-selection-after-plan-and-role",
        "AWS::Backup::BackupSelection",
        "its backup plan and IAM role",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupSelection.html",
        _backup_selection,
    ),
    Requirement(
        "backup-copy-after-destination-vault",
        "AWS::Backup::BackupPlan",
        "the destination vault of every copy action (another region: a stack dependency)",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html",
        _copy_destinations,
    ),
    Requirement(
        "backup-framework-after-config-recording",
        "AWS::Backup::Framework",
        "AWS Config recording in the account (Backup Audit Manager controls are Config rules over recorded backup resources)",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/turning-on-resource-tracking.html and "
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/bam-cfn-integration.html",
        _recording,
    ),
    Requirement(
        "backup-restore-testing-selection-after-plan",
        "AWS::Backup::RestoreTestingSelection",
        "its restore testing plan",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html",
        _refs("AWS::Backup::RestoreTestingPlan", "RestoreTestingPlanName"),
    ),
    Requirement(
        "macie-identifier-after-session",
        "AWS::Macie::CustomDataIdentifier",
        "the account's Macie session",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-macie-customdataidentifier.html "
        "('you must enable Macie' — the session)",
        _session_in_account,
    ),
    Requirement(
        "macie-job-after-session",
        "Custom::MacieClassificationJob",
        "the account's Macie session",
        "https://docs.aws.amazon.com/macie/latest/APIReference/jobs.html (CreateClassificationJob needs Macie enabled)",
        _session_in_account,
    ),
    Requirement(
        "custom-resource-after-provider-policy",
        "Custom::*",
        "its provider function and every policy of the provider's role",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html and "
        "https://github.com/aws/aws-cdk/issues/7016 (custom resource ran before its role's policy existed)",
        _custom_resource_provider,
    ),
    Requirement(
        "lambda-in-vpc-after-eni-policy",
        "AWS::Lambda::Function",
        "the execution-role policy that grants ec2:CreateNetworkInterface (Lambda checks it at CreateFunction)",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions",
        _function_role_policies,
    ),
    Requirement(
        "rotation-after-lambda-permission",
        "AWS::SecretsManager::RotationSchedule",
        "the rotation function's invoke permission for secretsmanager",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html",
        _rotation_permission,
    ),
    Requirement(
        "waf-logging-after-log-group-and-resource-policy",
        "AWS::WAFv2::LoggingConfiguration",
        "the aws-waf-logs-* log group and the CloudWatch Logs resource policy for delivery.logs.amazonaws.com",
        "https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html",
        _waf_logging,
    ),
    Requirement(
        "ecs-service-after-listener",
        "AWS::ECS::Service",
        "a listener (rule) that forwards to its target group",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html "
        "('the target group ... must be associated with a load balancer' — DependsOn the listener)",
        _ecs_listener,
    ),
    Requirement(
        "guardduty-children-after-detector",
        "AWS::GuardDuty::*",
        "the detector (filters, IP sets, members reference it)",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-guardduty-filter.html",
        _detector,
    ),
]

XFAIL: dict[str, str] = {}  # rule id -> reason, for a known defect fixed elsewhere (strict: flips when fixed)


def _matches(resource_type: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return resource_type.startswith(pattern[:-1]) and resource_type != "AWS::GuardDuty::Detector"
    return resource_type == pattern


def violations(assembly: Assembly, requirement: Requirement, audit: dict[str, object]) -> tuple[int, list[str]]:
    checked, problems = 0, []
    for resource in assembly.resources():
        if not _matches(resource.type, requirement.dependent):
            continue
        checked += 1
        needed = requirement.prerequisites(assembly, resource, audit)
        if isinstance(needed, str):
            problems.append(f"{resource.key}: {needed}")
            continue
        for prerequisite in needed:
            if not assembly.created_after(resource, prerequisite):
                problems.append(f"{resource.key} can be created before {prerequisite.key} ({requirement.needs})")
        for partner in requirement.together(assembly, resource, audit) if requirement.together else []:
            if partner.stack is not resource.stack:
                problems.append(f"{resource.key} and {partner.key} are in different templates ({requirement.needs})")
            elif assembly.created_after(resource, partner) or assembly.created_after(partner, resource):
                problems.append(f"{resource.key} and {partner.key} are ordered one after the other ({requirement.needs})")
    return checked, problems


@pytest.mark.parametrize(
    "requirement",
    [pytest.param(r, id=r.id, marks=[pytest.mark.xfail(strict=True, reason=XFAIL[r.id])] if r.id in XFAIL else []) for r in REQUIREMENTS],
)
def test_created_after_what_aws_requires(assembly: Assembly, audit_settings: dict[str, object], requirement: Requirement) -> None:
    """Each requirement's page is in ``requirement.url`` (and docs/deploy-rehearsal.md)."""
    _, problems = violations(assembly, requirement, audit_settings)
    assert not problems, f"{requirement.id} ({requirement.url}):\n" + "\n".join(problems)


def test_every_requirement_applies_somewhere(assembly: Assembly, audit_settings: dict[str, object]) -> None:
    """A requirement that matches no resource proves nothing: each rule must see its type, unless the
    type is absent from the whole assembly (then the coverage table says why)."""
    present = {r.type for r in assembly.resources()}
    for requirement in REQUIREMENTS:
        if any(_matches(t, requirement.dependent) for t in present):
            checked, _ = violations(assembly, requirement, audit_settings)
            assert checked > 0, requirement.id


def test_cross_stack_order_is_seen(assembly: Assembly) -> None:
    """The checker itself: a resource in a stack that does not depend on another stack is not ordered
    after that stack's resources (so a missing stack dependency is reported, not assumed)."""
    edge_global = assembly.by_name["Sandbox-EdgeGlobal"]
    keys = assembly.by_name["Sandbox-Keys"]
    any_key = keys.of_type("AWS::KMS::Key")[0]
    acl = edge_global.of_type("AWS::WAFv2::WebACL")[0]
    assert not assembly.created_after(acl, any_key)
    assert assembly.created_after(assembly.by_name["Sandbox-Network"].of_type("AWS::EC2::FlowLog")[0], any_key)
