"""What AWS requires of the audit and detection stacks at deploy time, and the existing-baseline switches.

Each test builds one stage without the compliance gates (seconds, not the whole app): the point is
the order, the permissions and the key policy AWS checks, which the gates do not look at. The key
policy is evaluated with the project's IAM evaluator (tests/stacks/iam_eval.py) with the request
context each service really sends, not compared as text.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks import config as cfg
from stacks.composition import new_app
from stacks.stage import MediVaultStage
from tests.stacks import iam_eval

pytestmark = pytest.mark.requirements("R11", "R12", "R14")

ACCOUNT = "123456789012"
OTHER = "999988887777"
TRAIL_ARN = f"arn:aws:cloudtrail:eu-central-1:{ACCOUNT}:trail/medivault-sandbox"
SWITCHES = ("use_existing_config_recorder", "use_existing_guardduty_detector", "use_existing_macie_session")
BASELINE_STACKS = ("audit", "detection_dr", "detection_edge")


@cache
def _stage(existing: bool = False) -> MediVaultStage:
    config = cfg.sandbox(ACCOUNT)
    if existing:
        config = dataclasses.replace(config, audit=dataclasses.replace(config.audit, **dict.fromkeys(SWITCHES, True)))
    return MediVaultStage(new_app(), config=config)


@cache
def _template(stack: str, existing: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = Template.from_stack(getattr(_stage(existing), stack)).to_json()
    return result


def _resources(stack: str, resource_type: str, existing: bool = False) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _template(stack, existing)["Resources"].items() if v["Type"] == resource_type}


def _one(stack: str, resource_type: str) -> tuple[str, dict[str, Any]]:
    [item] = _resources(stack, resource_type).items()
    return item


def _depends_on(resource: dict[str, Any]) -> set[str]:
    depends = resource.get("DependsOn", [])
    return {depends} if isinstance(depends, str) else set(depends)


def _key_policy() -> dict[str, Any]:
    [key] = [k for lid, k in _resources("audit", "AWS::KMS::Key").items() if lid.startswith("AuditKey")]
    policy: dict[str, Any] = key["Properties"]["KeyPolicy"]
    return policy


def _service_decision(service: str, action: str, context: dict[str, str]) -> str:
    """Evaluate the key policy for a request by a service principal: only statements naming it apply."""
    policy = _key_policy()
    statements = [s for s in policy["Statement"] if s["Principal"].get("Service") == service]
    return iam_eval.evaluate({"Statement": statements}, action, "*", context)


# ---- order: recorder -> delivery channel -> rules ------------------------------------------------


@pytest.mark.parametrize("stack", BASELINE_STACKS)
def test_recorder_and_delivery_channel_are_created_together(stack: str) -> None:
    """The API needs the recorder before the channel ("Before you can create a delivery channel, you must
    create a configuration recorder", https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html)
    and the channel before recording starts (NoAvailableDeliveryChannelException,
    https://docs.aws.amazon.com/config/latest/APIReference/API_StartConfigurationRecorder.html). CloudFormation's
    recorder handler puts the recorder, then waits for a channel before completing, so a DependsOn either way
    fails: recorder-after-channel (issue 14 defect 1: the channel cannot be created) and channel-after-recorder
    (the recorder never completes: https://github.com/aws/aws-cdk/issues/9001,
    https://github.com/awsdocs/aws-cloudformation-user-guide/pull/1282, deployed live in
    https://github.com/go-to-k/cdk-real-drift/pull/1554). Neither depends on the other; in the Audit stack both
    wait for the Config bucket policy (the detection stacks get it through their dependency on Audit)."""
    recorder_id, recorder = _one(stack, "AWS::Config::ConfigurationRecorder")
    channel_id, channel = _one(stack, "AWS::Config::DeliveryChannel")
    assert recorder_id not in _depends_on(channel)
    assert channel_id not in _depends_on(recorder)
    assert recorder["Properties"]["Name"] == channel["Properties"]["Name"] == "default"
    if stack == "audit":
        policies = _resources("audit", "AWS::S3::BucketPolicy").items()
        [policy] = [lid for lid, p in policies if p["Properties"]["Bucket"] == {"Ref": "ConfigBucket2112C5EC"}]
        assert policy in _depends_on(recorder) and policy in _depends_on(channel)
    else:
        stage = _stage()
        artifact = stage.synth().get_stack_artifact(getattr(stage, stack).artifact_id)
        assert stage.audit.artifact_id in {d.id for d in artifact.dependencies}


@pytest.mark.parametrize("stack", BASELINE_STACKS)
def test_every_config_rule_waits_for_recording(stack: str) -> None:
    """PutConfigRule needs a configuration recorder (NoAvailableConfigurationRecorderException,
    https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigRule.html): every rule depends on
    the recorder and on the delivery channel, so recording can start before rules evaluate."""
    recorder_id, _ = _one(stack, "AWS::Config::ConfigurationRecorder")
    channel_id, _ = _one(stack, "AWS::Config::DeliveryChannel")
    rules = _resources(stack, "AWS::Config::ConfigRule")
    assert rules
    for lid, rule in rules.items():
        assert {recorder_id, channel_id} <= _depends_on(rule), lid


def test_global_resource_types_are_recorded_in_the_primary_region_only() -> None:
    """Recording IAM in every region duplicates each configuration item; record global types in one
    region (https://docs.aws.amazon.com/config/latest/developerguide/select-resources.html)."""
    group = {stack: _one(stack, "AWS::Config::ConfigurationRecorder")[1]["Properties"]["RecordingGroup"] for stack in BASELINE_STACKS}
    assert group["audit"] == {"AllSupported": True, "IncludeGlobalResourceTypes": True}
    assert group["detection_dr"] == group["detection_edge"] == {"AllSupported": True, "IncludeGlobalResourceTypes": False}
    for stack in BASELINE_STACKS:
        role = _one(stack, "AWS::Config::ConfigurationRecorder")[1]["Properties"]["RoleARN"]
        assert role == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


# ---- the custom rule and its invoke permission ---------------------------------------------------


def test_custom_rule_waits_for_its_invoke_permission() -> None:
    """AWS Config validates a CUSTOM_LAMBDA rule's permission to invoke the function when the rule is
    created (aws-cdk PR #16617, https://github.com/aws/aws-cdk/pull/16617; Lambda permissions for Config,
    https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_nodejs.html).
    Issue 14 defect 2: ``Function.add_permission()`` returns None in Python, so no DependsOn was added."""
    stage = _stage()
    rules = {k: v for k, v in _resources("audit", "AWS::Config::ConfigRule").items() if v["Properties"]["Source"]["Owner"] == "CUSTOM_LAMBDA"}
    [(_, rule)] = rules.items()
    permissions = {
        lid: p for lid, p in _resources("audit", "AWS::Lambda::Permission").items() if p["Properties"]["Principal"] == "config.amazonaws.com"
    }
    [(permission_id, permission)] = permissions.items()
    assert permission_id in _depends_on(rule)
    assert stage.audit.resolve(stage.audit.get_logical_id(stage.audit.phi_bucket_rule_permission)) == permission_id
    assert permission["Properties"]["FunctionName"] == rule["Properties"]["Source"]["SourceIdentifier"]
    assert permission["Properties"]["Action"] == "lambda:InvokeFunction"
    assert permission["Properties"]["SourceAccount"] == ACCOUNT
    assert permission["Properties"]["SourceArn"] == f"arn:aws:config:eu-central-1:{ACCOUNT}:config-rule/*"


# ---- the audit key -------------------------------------------------------------------------------


def test_cloudtrail_can_describe_the_audit_key_with_the_context_it_sends() -> None:
    """CloudTrail guide, "Configure AWS KMS key policies for CloudTrail"
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html):
    CloudTrail must be able to describe the key; DescribeKey carries no encryption context, so it needs a
    statement of its own, pinned with aws:SourceArn (and aws:SourceAccount). Issue 14 defect 3: it sat in
    the statement that requires the CloudTrail encryption context and was never allowed."""
    ours = {"aws:SourceArn": TRAIL_ARN, "aws:SourceAccount": ACCOUNT}
    assert _service_decision("cloudtrail.amazonaws.com", "kms:DescribeKey", ours) == "Allow"
    theirs = {"aws:SourceArn": f"arn:aws:cloudtrail:eu-central-1:{OTHER}:trail/medivault-sandbox", "aws:SourceAccount": OTHER}
    assert _service_decision("cloudtrail.amazonaws.com", "kms:DescribeKey", theirs) == "Implicit"
    another_trail = {"aws:SourceArn": f"arn:aws:cloudtrail:eu-central-1:{ACCOUNT}:trail/rogue", "aws:SourceAccount": ACCOUNT}
    assert _service_decision("cloudtrail.amazonaws.com", "kms:DescribeKey", another_trail) == "Implicit"


def test_cloudtrail_encrypts_under_its_context_and_decrypts_for_the_bucket_key() -> None:
    """Same page: GenerateDataKey* under the trail's encryption context; "if you are using an existing S3
    bucket with an S3 Bucket Key, kms:Decrypt permission is required to create or update a trail with
    SSE-KMS encryption enabled" - the trail bucket has an S3 Bucket Key (asserted here too). With a
    Bucket Key S3 uses the bucket ARN as encryption context, so Decrypt is pinned by aws:SourceArn only."""
    bucket = _resources("audit", "AWS::S3::Bucket")["TrailBucketA831CE63"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["BucketKeyEnabled"] is True
    log = {"aws:SourceArn": TRAIL_ARN, "kms:EncryptionContext:aws:cloudtrail:arn": TRAIL_ARN}
    assert _service_decision("cloudtrail.amazonaws.com", "kms:GenerateDataKey", log) == "Allow"
    assert _service_decision("cloudtrail.amazonaws.com", "kms:GenerateDataKey", {"aws:SourceArn": TRAIL_ARN}) == "Implicit"
    bucket_key = {"aws:SourceArn": TRAIL_ARN, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::trail-bucket"}
    assert _service_decision("cloudtrail.amazonaws.com", "kms:Decrypt", bucket_key) == "Allow"
    foreign = {"aws:SourceArn": f"arn:aws:cloudtrail:eu-central-1:{OTHER}:trail/x", "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::x"}
    assert _service_decision("cloudtrail.amazonaws.com", "kms:Decrypt", foreign) == "Implicit"


def test_eventbridge_uses_the_audit_key_only_for_this_accounts_queues() -> None:
    """EventBridge sends undeliverable findings to the functions' SQS dead-letter queues (audit key).
    The SNS guide says aws:SourceAccount / aws:SourceArn are not supported in a KMS key policy for
    EventBridge-to-encrypted targets (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html,
    quoted in https://github.com/awslabs/landing-zone-accelerator-on-aws/issues/407), so the statement is
    pinned by the encryption context SQS puts on every request, aws:sqs:arn
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    Issue 15 item 9: the statement had no condition, so any account's queue under this key would do."""
    queue = {"kms:EncryptionContext:aws:sqs:arn": f"arn:aws:sqs:eu-central-1:{ACCOUNT}:Sandbox-Audit-FindingsNotifierDlq"}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert _service_decision("events.amazonaws.com", action, queue) == "Allow", action
        foreign = {"kms:EncryptionContext:aws:sqs:arn": f"arn:aws:sqs:eu-central-1:{OTHER}:q"}
        assert _service_decision("events.amazonaws.com", action, foreign) == "Implicit", action
        assert _service_decision("events.amazonaws.com", action, {}) == "Implicit", action
    assert _service_decision("events.amazonaws.com", "kms:ReEncryptFrom", queue) == "Implicit"


def test_cloudwatch_alarms_use_the_audit_key_only_for_this_accounts_topics() -> None:
    """CloudWatch alarms publish to the KMS-encrypted security topic; they need kms:Decrypt and
    kms:GenerateDataKey* (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns). SNS puts the
    topic ARN in the encryption context (aws:sns:topicArn,
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html), which pins the use to this
    account's topics in this region whatever the alarm sends."""
    topic = {"kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:eu-central-1:{ACCOUNT}:Sandbox-Audit-SecurityTopic"}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert _service_decision("cloudwatch.amazonaws.com", action, topic) == "Allow", action
        foreign = {"kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:eu-central-1:{OTHER}:t"}
        assert _service_decision("cloudwatch.amazonaws.com", action, foreign) == "Implicit", action
        assert _service_decision("cloudwatch.amazonaws.com", action, {}) == "Implicit", action


def test_config_delivers_into_a_bucket_without_object_lock_from_every_region() -> None:
    """AWS::Config::DeliveryChannel: "AWS Config supports cross-region and cross-account delivery
    channels" (outside Beijing) and "does not support the delivery channel to an Amazon S3 bucket where
    object lock is enabled" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-deliverychannel.html).
    The DR and edge recorders deliver to the central Config bucket (unlocked) under the audit key, read
    across regions at deploy time (Fn::GetStackOutput); the key lets Config in with aws:SourceAccount."""
    config_bucket = _resources("audit", "AWS::S3::Bucket")["ConfigBucket2112C5EC"]["Properties"]
    assert "ObjectLockConfiguration" not in config_bucket and config_bucket.get("ObjectLockEnabled") in (None, False)
    stack_name = _stage().audit.stack_name
    for stack in ("detection_dr", "detection_edge"):
        channel = _one(stack, "AWS::Config::DeliveryChannel")[1]["Properties"]
        bucket = channel["S3BucketName"]["Fn::GetStackOutput"]
        key = channel["S3KmsKeyArn"]["Fn::GetStackOutput"]
        assert bucket["StackName"] == key["StackName"] == stack_name
        assert bucket["Region"] == key["Region"] == "eu-central-1"
        assert "ConfigBucket2112C5EC" in bucket["OutputName"] and "AuditKey55555D67" in key["OutputName"]
    for region in ("eu-west-1", "us-east-1"):
        context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:config:{region}:{ACCOUNT}:*"}
        assert _service_decision("config.amazonaws.com", "kms:GenerateDataKey", context) == "Allow"
    assert _service_decision("config.amazonaws.com", "kms:GenerateDataKey", {"aws:SourceAccount": OTHER}) == "Implicit"


# ---- detection in every region -------------------------------------------------------------------


def test_detection_stacks_cover_the_dr_and_edge_regions() -> None:
    stage = _stage()
    assert (stage.detection_dr.region, stage.detection_edge.region) == ("eu-west-1", "us-east-1")
    assert (stage.detection_dr.stack_name, stage.detection_edge.stack_name) == ("Sandbox-DetectionDr", "Sandbox-DetectionEdge")
    dr = {f["Name"] for f in _one("detection_dr", "AWS::GuardDuty::Detector")[1]["Properties"]["Features"]}
    assert dr == {"S3_DATA_EVENTS", "RDS_LOGIN_EVENTS"}
    edge = _one("detection_edge", "AWS::GuardDuty::Detector")[1]["Properties"]
    assert edge["Enable"] is True and "Features" not in edge
    identifiers = {
        stack: {r["Properties"]["Source"]["SourceIdentifier"] for r in _resources(stack, "AWS::Config::ConfigRule").values()}
        for stack in ("detection_dr", "detection_edge")
    }
    assert {"BACKUP_RECOVERY_POINT_ENCRYPTED", "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION"} <= identifiers[
        "detection_dr"
    ]
    assert {"WAFV2_LOGGING_ENABLED", "ACM_CERTIFICATE_EXPIRATION_CHECK", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION"} <= identifiers["detection_edge"]
    # No Macie outside the primary region: no bucket with data there.
    for stack in ("detection_dr", "detection_edge"):
        assert not _resources(stack, "AWS::Macie::Session")


@pytest.mark.parametrize("stack", ["detection_dr", "detection_edge"])
def test_findings_are_forwarded_to_the_primary_default_bus(stack: str) -> None:
    """EventBridge sends events to an event bus in another Region with an IAM role allowed
    events:PutEvents on it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html);
    the forwarded events keep source and region, so the Audit stack's rules on that bus route them to the
    same findings notifier. Each forwarding rule uses the primary region's own pattern."""
    bus = f"arn:aws:events:eu-central-1:{ACCOUNT}:event-bus/default"
    audit_rules = {
        r["Properties"]["EventPattern"]["source"][0]: r["Properties"]["EventPattern"] for r in _resources("audit", "AWS::Events::Rule").values()
    }
    rules = _resources(stack, "AWS::Events::Rule")
    sources = set()
    for rule in rules.values():
        props = rule["Properties"]
        [target] = props["Targets"]
        assert target["Arn"] == bus
        role_id = target["RoleArn"]["Fn::GetAtt"][0]
        pattern = props["EventPattern"]
        sources.add(pattern["source"][0])
        if pattern["source"] != ["aws.macie"]:
            assert pattern == audit_rules[pattern["source"][0]]
    assert sources == {"aws.guardduty", "aws.config", "aws.macie"}
    role = _template(stack)["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    [policy] = [p for p in _resources(stack, "AWS::IAM::ManagedPolicy").values() if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [{"Action": "events:PutEvents", "Effect": "Allow", "Resource": bus}]


# ---- existing security baseline (issue 16) -------------------------------------------------------


def test_default_creates_the_baseline_in_every_region() -> None:
    for stack in BASELINE_STACKS:
        assert len(_resources(stack, "AWS::Config::ConfigurationRecorder")) == 1, stack
        assert len(_resources(stack, "AWS::Config::DeliveryChannel")) == 1, stack
        assert len(_resources(stack, "AWS::GuardDuty::Detector")) == 1, stack
    assert len(_resources("data", "AWS::Macie::Session")) == 1


def test_existing_baseline_creates_none_and_references_none() -> None:
    """Recorder, delivery channel, detector and Macie session are one per account and region
    (PutConfigurationRecorder / PutDeliveryChannel: one per Region; GuardDuty: one detector per Region,
    https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateDetector.html; Macie EnableMacie
    fails when Macie is already enabled, https://docs.aws.amazon.com/macie/latest/APIReference/macie.html).
    With the switches on, none is created, every DependsOn names a resource of the same template, and
    our rules, remediations, custom rule, classification job and finding routing are all still there."""
    absent = ("AWS::Config::ConfigurationRecorder", "AWS::Config::DeliveryChannel", "AWS::GuardDuty::Detector", "AWS::Macie::Session")
    for stack in (*BASELINE_STACKS, "data"):
        template = _template(stack, existing=True)
        for resource_type in absent:
            assert not _resources(stack, resource_type, existing=True), (stack, resource_type)
        for lid, resource in template["Resources"].items():
            assert _depends_on(resource) <= set(template["Resources"]), (stack, lid)
        kept = ("AWS::Config::ConfigRule", "AWS::Config::RemediationConfiguration", "AWS::Events::Rule", "Custom::MacieClassificationJob")
        for resource_type in kept:
            assert len(_resources(stack, resource_type, existing=True)) == len(_resources(stack, resource_type)), (stack, resource_type)
    assert _resources("data", "Custom::MacieClassificationJob", existing=True)
    assert _resources("data", "AWS::Macie::CustomDataIdentifier", existing=True)
    # Config rules then depend on nothing of ours (the custom rule still waits for its permission).
    for lid, rule in _resources("audit", "AWS::Config::ConfigRule", existing=True).items():
        if rule["Properties"]["Source"]["Owner"] == "AWS":
            assert not _depends_on(rule), lid
    # No Config delivery grant on the bucket when Config delivers elsewhere.
    config_policy = [
        p
        for p in _resources("audit", "AWS::S3::BucketPolicy", existing=True).values()
        if p["Properties"]["Bucket"] == {"Ref": "ConfigBucket2112C5EC"}
    ]
    assert "config.amazonaws.com" not in str(config_policy)


def test_stage_is_a_cdk_stage_with_the_two_new_stacks() -> None:
    stage = _stage()
    names = [c.node.id for c in stage.node.children if isinstance(c, cdk.Stack)]
    assert {"DetectionDr", "DetectionEdge", "Audit"} <= set(names)
    assert stage.detection_dr.termination_protection is False  # no stateful resource: the Config bucket stays in Audit


def test_custom_rule_calls_without_resource_level_permissions_sit_in_their_own_policy() -> None:
    """s3:ListAllMyBuckets and config:PutEvaluations support no resource-level permissions
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsconfig.html); they live in
    a managed policy of their own, acknowledged with that reason, so the function role's own Resource::*
    acknowledgment (VPC ENI and X-Ray actions only) stays true. The rule waits for this policy too."""
    stage = _stage()
    function_role = stage.audit.resolve(stage.audit.get_logical_id(stage.audit.node.find_child("PhiBucketRule").role.node.default_child))
    policies = {lid: p for lid, p in _resources("audit", "AWS::IAM::ManagedPolicy").items() if {"Ref": function_role} in p["Properties"]["Roles"]}
    no_resource_level = {"s3:ListAllMyBuckets", "config:PutEvaluations"}
    wildcard = {
        lid
        for lid, p in policies.items()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == "*" and no_resource_level & set([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    [evaluations] = wildcard
    [statement] = policies[evaluations]["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["config:PutEvaluations", "s3:ListAllMyBuckets"]
    [rule] = [r for r in _resources("audit", "AWS::Config::ConfigRule").values() if r["Properties"]["Source"]["Owner"] == "CUSTOM_LAMBDA"]
    assert evaluations in _depends_on(rule)
