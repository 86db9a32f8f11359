"""Audit stack: trail, trail bucket, alarms, Config, remediation, custom rule, GuardDuty, findings routing."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from constructs import IConstruct

from stacks import config as cfg
from stacks.audit_stack import AuditStack
from stacks.composition import new_app, populate
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R11", "R12", "R14")

# Renaming any of these replaces the resource: evidence buckets, the audit key, the trail's log group.
PINNED = {
    "AWS::KMS::Key": {"AuditKey55555D67"},
    "AWS::S3::Bucket": {"AccessLogBucketDA470295", "TrailBucketA831CE63", "ConfigBucket2112C5EC", "QuarantineBucketFDBDA180"},
    "AWS::Logs::LogGroup": {"TrailLogs3B05809D"},
    "AWS::DynamoDB::Table": {"FindingsSeenEB84EE1B"},
}
SECURITY_EVENTS = {
    "UnauthorizedApiCalls",
    "RootAccountUse",
    "ConsoleSignInWithoutMfa",
    "IamPolicyChanges",
    "CloudTrailChanges",
    "KmsKeyDisableOrDeletion",
    "S3BucketPolicyChanges",
    "SecurityGroupChanges",
    "NetworkAclChanges",
}


def _one(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def _lid(construct: IConstruct) -> str:
    """The logical ID of a construct's CloudFormation resource (Template.from_stack drops paths)."""
    resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    assert isinstance(resource, cdk.CfnElement), construct.node.path
    stack = cdk.Stack.of(resource)
    return str(stack.resolve(stack.get_logical_id(resource)))


def _audit(synth: Synthesized, environment: str) -> AuditStack:
    stack = synth.stack(environment, "audit")
    assert isinstance(stack, AuditStack)
    return stack


def test_stateful_logical_ids_are_pinned(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    for resource_type, ids in PINNED.items():
        found = set(resources_of(template, resource_type))
        assert ids <= found, f"{resource_type}: stateful logical IDs changed: {sorted(found)}"


def test_stateful_resources_retained_in_production_only(synth: Synthesized) -> None:
    for environment, policy in (("production", "Retain"), ("sandbox", "Delete")):
        template = synth.template(environment, "audit")
        for resource_type, ids in PINNED.items():
            for lid in ids:
                assert resources_of(template, resource_type)[lid]["DeletionPolicy"] == policy, (environment, lid)
    assert synth.stack("production", "audit").termination_protection is True
    assert synth.stack("sandbox", "audit").termination_protection is False


def test_trail_is_multi_region_validated_encrypted_with_phi_data_events(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    _, trail = _one(template, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["TrailName"] == f"medivault-{environment}"
    assert props["IsLogging"] is True
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["KMSKeyId"] == {"Fn::GetAtt": ["AuditKey55555D67", "Arn"]}
    assert props["S3BucketName"] == {"Ref": "TrailBucketA831CE63"}
    assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": ["TrailLogs3B05809D", "Arn"]}
    [selector] = props["EventSelectors"]
    assert selector["IncludeManagementEvents"] is True and selector["ReadWriteType"] == "All"
    [data] = selector["DataResources"]
    assert data["Type"] == "AWS::S3::Object"
    # Both PHI buckets of the data stack (records, imaging), as cross-stack references with a trailing
    # "/", and the quarantine bucket (PHI found in the wrong place, issue 15 item 6).
    assert len(data["Values"]) == 3
    values = [str(v) for v in data["Values"]]
    data_stack = synth.stack(environment, "data").stack_name
    assert sum(data_stack in v for v in values) == 2
    assert any("Records" in v for v in values) and any("Imaging" in v for v in values)
    assert {"Fn::Join": ["", [{"Fn::GetAtt": ["QuarantineBucketFDBDA180", "Arn"]}, "/"]]} in data["Values"]
    assert all(v["Fn::Join"][1][-1] == "/" for v in data["Values"])


def test_trail_bucket_is_locked_encrypted_logged_and_archived(synth: Synthesized, environment: str) -> None:
    audit = synth.stages[environment].config.audit
    props = resources_of(synth.template(environment, "audit"), "AWS::S3::Bucket")["TrailBucketA831CE63"]["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": audit.trail_lock_mode, "Days": audit.trail_lock_days}},
    }
    if environment == "production":
        assert (audit.trail_lock_mode, audit.trail_lock_days) == ("COMPLIANCE", 2190)
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["AuditKey55555D67", "Arn"]}}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": "AccessLogBucketDA470295"}, "LogFilePrefix": "TrailBucket/"}
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": audit.trail_archive_after_days}]


def test_trail_bucket_policy_is_tls_only_and_scoped_to_the_trail(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    policies = [p for p in resources_of(template, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": "TrailBucketA831CE63"}]
    [policy] = policies
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    tls = [s for s in statements if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(tls) == 1
    by_sid = {s.get("Sid"): s for s in statements}
    account = synth.stages[environment].audit.account
    trail_arn = f"arn:aws:cloudtrail:eu-central-1:{account}:trail/medivault-{environment}"
    assert by_sid["CloudtrailAclCheck"]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert by_sid["CloudtrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert by_sid["CloudtrailWrite"]["Action"] == "s3:PutObject"
    assert by_sid["CloudtrailWrite"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}}


def test_audit_key_lets_cloudtrail_in_for_this_trail_only(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    key = resources_of(template, "AWS::KMS::Key")["AuditKey55555D67"]
    assert key["Properties"]["EnableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    cloudtrail = by_sid["ServiceUseCloudtrail"]
    assert cloudtrail["Action"] == "kms:GenerateDataKey*"
    account = synth.stages[environment].audit.account
    trail_arn = f"arn:aws:cloudtrail:eu-central-1:{account}:trail/medivault-{environment}"
    assert cloudtrail["Condition"]["StringEquals"] == {"aws:SourceArn": trail_arn}
    # DescribeKey and the Bucket Key's Decrypt in statements of their own (tests/stacks/test_audit_deploy.py evaluates them).
    assert by_sid["CloudTrailDescribesKey"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn, "aws:SourceAccount": account}}
    assert by_sid["CloudTrailDecryptsForBucketKey"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert {"ServiceUseEvents", "ServiceUseCloudwatch", "ServiceUseConfig", "UseOnlyThroughNamedServices"} <= set(by_sid)
    assert sorted(by_sid["UseOnlyThroughNamedServices"]["Condition"]["StringEquals"]["kms:ViaService"]) == sorted(
        f"{s}.eu-central-1.amazonaws.com" for s in ("s3", "sns", "dynamodb", "sqs")
    )


def test_security_events_have_filters_and_alarms_to_the_security_topic(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    filters = resources_of(template, "AWS::Logs::MetricFilter")
    names = {f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters.values()}
    assert names == SECURITY_EVENTS
    assert all(f["Properties"]["LogGroupName"] == {"Ref": "TrailLogs3B05809D"} for f in filters.values())
    root = next(f for f in filters.values() if f["Properties"]["MetricTransformations"][0]["MetricName"] == "RootAccountUse")
    assert '$.userIdentity.type = "Root"' in root["Properties"]["FilterPattern"]
    alarms = [a for a in resources_of(template, "AWS::CloudWatch::Alarm").values() if a["Properties"].get("Namespace") == "MediVault/Security"]
    topic = _lid(_audit(synth, environment).security_topic)
    assert sorted(a["Properties"]["MetricName"] for a in alarms) == sorted(SECURITY_EVENTS)
    for alarm in alarms:
        # The one alarm-action convention (constructs/alert_topic.notify): ALARM, OK and INSUFFICIENT_DATA.
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert alarm["Properties"][actions] == [{"Ref": topic}], actions
        assert alarm["Properties"]["Threshold"] == 1


def test_security_topic_is_kms_encrypted_and_mailed(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": ["AuditKey55555D67", "Arn"]}})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": synth.stages[environment].config.audit.security_email}
    )


def test_config_records_everything_and_delivers_encrypted(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    _, recorder = _one(template, "AWS::Config::ConfigurationRecorder")
    assert recorder["Properties"]["RecordingGroup"] == {"AllSupported": True, "IncludeGlobalResourceTypes": True}
    account = _audit(synth, environment).account
    assert recorder["Properties"]["RoleARN"] == f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    _, channel = _one(template, "AWS::Config::DeliveryChannel")
    assert channel["Properties"]["S3BucketName"] == {"Ref": "ConfigBucket2112C5EC"}
    assert channel["Properties"]["S3KmsKeyArn"] == {"Fn::GetAtt": ["AuditKey55555D67", "Arn"]}


def test_at_least_25_hipaa_managed_rules_after_the_recorder(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    rules = resources_of(template, "AWS::Config::ConfigRule")
    managed = {r["Properties"]["Source"]["SourceIdentifier"]: r for r in rules.values() if r["Properties"]["Source"]["Owner"] == "AWS"}
    assert len(managed) >= 25
    expected = {
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "RDS_STORAGE_ENCRYPTED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        "CLOUD_TRAIL_ENABLED",
        "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
        "CLOUDTRAIL_S3_DATAEVENTS_ENABLED",
        "VPC_FLOW_LOGS_ENABLED",
        "ROOT_ACCOUNT_MFA_ENABLED",
        "IAM_ROOT_ACCESS_KEY_CHECK",
        "INCOMING_SSH_DISABLED",
        "RESTRICTED_INCOMING_TRAFFIC",
        "DB_INSTANCE_BACKUP_ENABLED",
        "ELASTICACHE_REDIS_CLUSTER_AUTOMATIC_BACKUP_CHECK",
        "ELB_TLS_HTTPS_LISTENERS_ONLY",
        "GUARDDUTY_ENABLED_CENTRALIZED",
    }
    assert expected <= set(managed)
    recorder = next(iter(resources_of(template, "AWS::Config::ConfigurationRecorder")))
    for identifier, rule in managed.items():
        assert recorder in rule.get("DependsOn", []), identifier
    assert managed["RESTRICTED_INCOMING_TRAFFIC"]["Properties"]["InputParameters"]["blockedPort3"] == 3389


REQUIRED_REMEDIATIONS = {
    # public S3 access
    "s3-bucket-public-read-prohibited": ("AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock", "BucketName"),
    "s3-bucket-public-write-prohibited": ("AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock", "BucketName"),
    # missing S3 encryption
    "s3-bucket-server-side-encryption-enabled": ("AWS-EnableS3BucketEncryption", "BucketName"),
    # unrestricted SSH / RDP
    "restricted-ssh": ("AWS-DisableIncomingSSHOnPort22", "SecurityGroupIds"),
    "restricted-common-ports": ("AWS-DisablePublicAccessForSecurityGroup", "GroupId"),
    # CloudTrail logging off
    "cloudtrail-enabled": ("AWS-EnableCloudTrail", None),
}


def test_remediations_are_automatic_with_retries_and_the_automation_role(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    role = _lid(_audit(synth, environment).config_rules.automation_role)
    rule_names = {_lid(rule): name for name, rule in _audit(synth, environment).config_rules.rules.items()}
    remediations = {
        rule_names[r["Properties"]["ConfigRuleName"]["Ref"]]: r["Properties"]
        for r in resources_of(template, "AWS::Config::RemediationConfiguration").values()
    }
    assert set(remediations) == set(REQUIRED_REMEDIATIONS)
    for rule, (document, resource_parameter) in REQUIRED_REMEDIATIONS.items():
        props = remediations[rule]
        assert props["TargetType"] == "SSM_DOCUMENT" and props["TargetId"] == document, rule
        assert props["Automatic"] is True and props["MaximumAutomaticAttempts"] == 5 and props["RetryAttemptSeconds"] == 60, rule
        assert props["Parameters"]["AutomationAssumeRole"] == {"StaticValue": {"Values": [{"Fn::GetAtt": [role, "Arn"]}]}}, rule
        if resource_parameter:
            assert props["Parameters"][resource_parameter] == {"ResourceValue": {"Value": "RESOURCE_ID"}}, rule
    assert remediations["cloudtrail-enabled"]["Parameters"]["TrailName"] == {"StaticValue": {"Values": [f"medivault-{environment}"]}}
    assert remediations["s3-bucket-server-side-encryption-enabled"]["Parameters"]["SSEAlgorithm"] == {"StaticValue": {"Values": ["aws:kms"]}}


def test_automation_role_is_least_privilege(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    role_id = _lid(_audit(synth, environment).config_rules.automation_role)
    role = resources_of(template, "AWS::IAM::Role")[role_id]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert "ManagedPolicyArns" not in role["Properties"]
    [policy] = [p for p in resources_of(template, "AWS::IAM::ManagedPolicy").values() if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    actions = {
        a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:DescribeSecurityGroups",
        "cloudtrail:StartLogging",
        "cloudtrail:CreateTrail",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:DescribeTrails",
    }
    assert not any("*" in a for a in actions)


def test_custom_phi_bucket_rule_is_change_triggered_and_periodic(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    data = synth.stages[environment].config.data
    rules = [
        r["Properties"] for r in resources_of(template, "AWS::Config::ConfigRule").values() if r["Properties"]["Source"]["Owner"] == "CUSTOM_LAMBDA"
    ]
    [rule] = rules
    assert rule["ConfigRuleName"] == "medivault-phi-bucket-lock"
    assert rule["Scope"] == {"ComplianceResourceTypes": ["AWS::S3::Bucket"]}
    assert {d["MessageType"] for d in rule["Source"]["SourceDetails"]} == {
        "ConfigurationItemChangeNotification",
        "OversizedConfigurationItemChangeNotification",
        "ScheduledNotification",
    }
    params = rule["InputParameters"]
    assert params["lockMode"] == data.object_lock_mode and params["minRetentionDays"] == str(data.object_lock_days)
    keys = synth.stack(environment, "keys").stack_name
    assert keys in str(params["kmsKeyArn"]) and "DataKey" in str(params["kmsKeyArn"])  # the data key of the keys stack
    function = _lid(_audit(synth, environment).node.find_child("PhiBucketRule").node.find_child("Function"))
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
            "Principal": "config.amazonaws.com",
            "SourceAccount": synth.stages[environment].audit.account,
            "SourceArn": f"arn:aws:config:eu-central-1:{synth.stages[environment].audit.account}:config-rule/*",
        },
    )
    template.has_resource_properties("AWS::Lambda::Function", {"Handler": "mv_phi_bucket_rule.handler.lambda_handler"})
    # Test mode is for tests only: the deployed function never has it.
    for fn in resources_of(template, "AWS::Lambda::Function").values():
        assert "CONFIG_RULE_TEST_MODE" not in fn["Properties"].get("Environment", {}).get("Variables", {})


def test_guardduty_detector_has_s3_rds_and_fargate_runtime_protection(synth: Synthesized, environment: str) -> None:
    _, detector = _one(synth.template(environment, "audit"), "AWS::GuardDuty::Detector")
    props = detector["Properties"]
    assert props["Enable"] is True
    features = {f["Name"]: f for f in props["Features"]}
    assert features["S3_DATA_EVENTS"]["Status"] == "ENABLED"
    assert features["RDS_LOGIN_EVENTS"]["Status"] == "ENABLED"
    assert features["RUNTIME_MONITORING"]["Status"] == "ENABLED"
    assert features["RUNTIME_MONITORING"]["AdditionalConfiguration"] == [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]


def _rule_patterns(synth: Synthesized, environment: str) -> dict[str, dict[str, Any]]:
    audit = _audit(synth, environment)
    rules = resources_of(synth.template(environment, "audit"), "AWS::Events::Rule")
    named = {**audit.finding_rules, "MacieSensitiveObjects": audit.macie_rule}
    return {name: rules[_lid(rule)]["Properties"] for name, rule in named.items()}


def test_finding_event_patterns(synth: Synthesized, environment: str) -> None:
    rules = _rule_patterns(synth, environment)
    severity = synth.stages[environment].config.audit.guardduty_min_severity
    assert rules["GuardDutyFindings"]["EventPattern"] == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", severity]}]},
    }
    assert rules["MacieFindings"]["EventPattern"] == {"source": ["aws.macie"], "detail-type": ["Macie Finding"]}
    assert rules["ConfigNonCompliant"]["EventPattern"] == {
        "source": ["aws.config"],
        "detail-type": ["Config Rules Compliance Change"],
        "detail": {"messageType": ["ComplianceChangeNotification"], "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}},
    }
    # Backup job failures are alerted once, by the Backup stack's JobFailures rule (tests/stacks/test_backup.py).
    assert set(rules) == {"GuardDutyFindings", "MacieFindings", "ConfigNonCompliant", "MacieSensitiveObjects"}
    all_rules = resources_of(synth.template(environment, "audit"), "AWS::Events::Rule").values()
    assert not [r for r in all_rules if "aws.backup" in r["Properties"].get("EventPattern", {}).get("source", [])]
    assert rules["MacieSensitiveObjects"]["EventPattern"]["detail"] == {"type": [{"prefix": "SensitiveData:S3Object/"}]}
    notifier = _lid(_audit(synth, environment).findings_notifier.function)
    quarantine = _lid(_audit(synth, environment).macie_quarantine.function)
    notifier_dlq = _lid(_audit(synth, environment).findings_notifier.dead_letter_queue)
    quarantine_dlq = _lid(_audit(synth, environment).macie_quarantine.dead_letter_queue)
    for name, function, queue in (
        ("GuardDutyFindings", notifier, notifier_dlq),
        ("MacieFindings", notifier, notifier_dlq),
        ("ConfigNonCompliant", notifier, notifier_dlq),
        ("MacieSensitiveObjects", quarantine, quarantine_dlq),
    ):
        [target] = rules[name]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}, name
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 8}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}, name


def test_notifier_remembers_findings_in_an_encrypted_table(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "audit")
    props = resources_of(template, "AWS::DynamoDB::Table")["FindingsSeenEB84EE1B"]["Properties"]
    assert props["SSESpecification"] == {"KMSMasterKeyId": {"Fn::GetAtt": ["AuditKey55555D67", "Arn"]}, "SSEEnabled": True, "SSEType": "KMS"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "mv_findings_notifier.handler.lambda_handler",
            "Environment": {"Variables": Match.object_like({"TABLE_NAME": {"Ref": "FindingsSeenEB84EE1B"}, "REMEMBER_DAYS": "90"})},
        },
    )


def test_quarantine_bucket_is_locked_under_the_data_key(synth: Synthesized, environment: str) -> None:
    audit = synth.stages[environment].config.audit
    props = resources_of(synth.template(environment, "audit"), "AWS::S3::Bucket")["QuarantineBucketFDBDA180"]["Properties"]
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": audit.quarantine_lock_mode, "Days": audit.quarantine_lock_days}
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key = str(encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert synth.stack(environment, "keys").stack_name in key and "DataKey" in key


def test_audit_manager_is_off_unless_configured(synth: Synthesized, environment: str) -> None:
    assert resources_of(synth.template(environment, "audit"), "AWS::AuditManager::Assessment") == {}


def test_audit_manager_assessment_when_switched_on(tmp_path: Path) -> None:
    base = cfg.production("123456789012")
    audit = dataclasses.replace(base.audit, audit_manager_enabled=True, audit_manager_framework_id="0b1b2c3d-1111-4222-8333-444455556666")
    app = new_app(outdir=str(tmp_path))
    stage = populate(app, [dataclasses.replace(base, audit=audit)])["production"]
    app.synth()  # compliance gates pass with the assessment and its owner role
    template = Template.from_stack(stage.audit)
    template.has_resource_properties(
        "AWS::AuditManager::Assessment",
        {
            "FrameworkId": "0b1b2c3d-1111-4222-8333-444455556666",
            "Status": "ACTIVE",
            "Roles": [Match.object_like({"RoleType": "PROCESS_OWNER"})],
            "Scope": {"AwsAccounts": [{"Id": "123456789012"}]},
        },
    )


def test_audit_stack_refuses_to_run_without_phi_buckets() -> None:
    app = new_app()
    stage = cdk.Stage(app, "T")
    keys_like = cdk.Stack(stage, "K", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms
    from constructs.egress import AwsApiPaths

    key = kms.Key.from_key_arn(keys_like, "Key", "arn:aws:kms:eu-central-1:123456789012:key/abc")
    vpc = ec2.Vpc.from_vpc_attributes(keys_like, "Vpc", vpc_id="vpc-1", availability_zones=["eu-central-1a"], private_subnet_ids=["subnet-1"])
    with pytest.raises(ValueError, match="phi_buckets is empty"):
        AuditStack(
            stage,
            "Audit",
            config=cfg.sandbox("123456789012"),
            logs_key=key,
            data_key=key,
            vpc=vpc,
            function_subnets=ec2.SubnetSelection(subnets=vpc.private_subnets),
            aws_apis=AwsApiPaths(
                endpoint_security_group=ec2.SecurityGroup.from_security_group_id(keys_like, "Endpoints", "sg-1"),
                s3_prefix_list_id="pl-11111111",
                dynamodb_prefix_list_id="pl-22222222",
            ),
            phi_buckets=[],
        )
