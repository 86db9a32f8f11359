"""Audit and governance (R11 alerting, R12, R14): CloudTrail, AWS Config, GuardDuty, findings routing.

Stateful (the trail, Config and quarantine buckets are evidence): retained in production.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_auditmanager as auditmanager
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_config as awsconfig
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.data_classification import PHI_TAG_KEY, PHI_TAG_VALUE, tag_phi_bucket
from constructs.detection_baseline import (
    RDS_LOGIN_EVENTS,
    RUNTIME_MONITORING,
    S3_DATA_EVENTS,
    ConfigRecording,
    finding_patterns,
    guardduty_detector,
    record_configuration,
)
from constructs.egress import AwsApiPaths, closed_security_group
from constructs.evidence_protection import EvidenceProtection, protect_evidence
from constructs.hipaa_config_rules import HipaaConfigRules
from constructs.log_retention import retention
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.python_function import PythonFunction
from constructs.security_alarms import SecurityEventAlarms
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.evidence import evidence_protection

# Backup job states that need a human; COMPLETED/RUNNING/CREATED are not news.
FAILED_BACKUP_STATES = ["FAILED", "ABORTED", "EXPIRED"]


def arn_id(stack: cdk.Stack, template: str) -> str:
    """How cdk-nag prints an ARN in a finding id: literal partition/account when concrete."""
    partition = "<AWS::Partition>" if cdk.Token.is_unresolved(stack.partition) else stack.partition
    account = "<AWS::AccountId>" if cdk.Token.is_unresolved(stack.account) else stack.account
    return template.format(partition=partition, account=account, region=stack.region)


def _lock(mode: str, days: int) -> s3.ObjectLockRetention:
    duration = cdk.Duration.days(days)
    return s3.ObjectLockRetention.compliance(duration) if mode == "COMPLIANCE" else s3.ObjectLockRetention.governance(duration)


class AuditStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        logs_key: kms.IKey,
        data_key: kms.IKey,
        vpc: ec2.IVpc,
        function_subnets: ec2.SubnetSelection,
        aws_apis: AwsApiPaths,
        phi_buckets: Sequence[s3.IBucket],
        evidence_buckets: Sequence[s3.IBucket] = (),
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="CloudTrail, AWS Config rules and remediation, GuardDuty, findings routing",
            stateful=True,
        )
        if not phi_buckets:
            raise ValueError("AuditStack: phi_buckets is empty; the trail must record data events on the PHI buckets (R12)")
        # Other stacks' evidence buckets (access logs, ALB and CloudFront logs): out of the quarantine's reach.
        self.external_evidence_buckets = list(evidence_buckets)
        protection = evidence_protection(config)
        audit = config.audit
        removal = config.removal_policy
        self.trail_name = f"medivault-{config.name}"
        trail_arn = f"arn:{self.partition}:cloudtrail:{self.region}:{self.account}:trail/{self.trail_name}"

        # --- the audit key: CloudTrail, the security topic, Config delivery, the findings table ---
        # CloudTrail guide, "Configure AWS KMS key policies for CloudTrail": GenerateDataKey* under the
        # trail's encryption context; DescribeKey in a statement of its own (it carries no encryption
        # context); and, because the trail bucket uses an S3 Bucket Key, kms:Decrypt for creating or
        # updating the trail. Each is pinned to this trail with aws:SourceArn, as the guide recommends.
        trail_source: dict[str, dict[str, object]] = {"StringEquals": {"aws:SourceArn": trail_arn}}
        self.audit_key = PurposeKey(
            self,
            "AuditKey",
            purpose="audit",
            alias=f"alias/medivault/{config.name}/audit",
            via_services=["s3", "sns", "dynamodb", "sqs"],
            service_principals=[
                ServicePrincipalUse(
                    service="cloudtrail.amazonaws.com",
                    actions=("kms:GenerateDataKey*",),
                    conditions={
                        **trail_source,
                        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{self.partition}:cloudtrail:*:{self.account}:trail/*"},
                    },
                ),
                ServicePrincipalUse(
                    service="config.amazonaws.com",
                    actions=("kms:Decrypt", "kms:GenerateDataKey"),
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                ),
                # EventBridge sends undeliverable findings to the functions' SQS dead-letter queues, and
                # CloudWatch alarms publish to the security topic. The SNS guide says aws:SourceAccount /
                # aws:SourceArn are not supported in a key policy for EventBridge-to-encrypted targets, so
                # both are pinned by the encryption context SQS and SNS themselves put on every request
                # (the queue's or topic's ARN): only this account's queues / topics in this region.
                ServicePrincipalUse(
                    service="events.amazonaws.com",
                    actions=("kms:Decrypt", "kms:GenerateDataKey"),
                    conditions={"StringLike": {"kms:EncryptionContext:aws:sqs:arn": f"arn:{self.partition}:sqs:{self.region}:{self.account}:*"}},
                ),
                ServicePrincipalUse(
                    service="cloudwatch.amazonaws.com",
                    actions=("kms:Decrypt", "kms:GenerateDataKey*"),
                    conditions={"StringLike": {"kms:EncryptionContext:aws:sns:topicArn": f"arn:{self.partition}:sns:{self.region}:{self.account}:*"}},
                ),
            ],
            removal_policy=removal,
        ).key
        cloudtrail_principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        self.audit_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailDescribesKey",
                principals=[cloudtrail_principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn, "aws:SourceAccount": self.account}},
            )
        )
        self.audit_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailDecryptsForBucketKey",
                principals=[cloudtrail_principal],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions=trail_source,
            )
        )

        # --- the security topic ---
        self.security_topic = sns.Topic(
            self, "SecurityTopic", display_name=f"MediVault {config.name} security", master_key=self.audit_key, enforce_ssl=True
        )
        self.security_topic.add_subscription(subscriptions.EmailSubscription(audit.security_email))

        # --- buckets: server access logs, trail (locked), Config delivery, quarantine (locked) ---
        # Every one is evidence: deletion and reconfiguration are denied to all but break-glass by
        # bucket policy (protect_evidence). Object Lock where the writer allows it: CloudTrail and the
        # quarantine copy do; S3 server access logging and AWS Config refuse Object Lock buckets.
        evidence = config.evidence
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging supports SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(storage_class=s3.StorageClass.GLACIER, transition_after=cdk.Duration.days(audit.trail_archive_after_days))
                    ],
                    expiration=cdk.Duration.days(evidence.evidence_access_log_days),
                    noncurrent_version_expiration=cdk.Duration.days(evidence.evidence_access_log_days),
                )
            ],
            removal_policy=removal,
            auto_delete_objects=False,
        )
        protect_evidence(self.access_log_bucket, protection)
        acknowledge(
            self.access_log_bucket,
            "AwsSolutions-S1",
            "This is the server-access-log bucket of the audit buckets; logging it into itself would log its own log writes forever.",
        )
        acknowledge(
            self.access_log_bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Access logs of the audit buckets stay in the EU primary region (S3 stores them across three AZs); they are not "
            "needed to restore service, and their bucket policy denies deletion to all but break-glass.",
        )
        acknowledge(
            self.access_log_bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to buckets with SSE-S3 (AES-256) default encryption, not SSE-KMS.",
        )
        self.trail_bucket = self._evidence_bucket(
            "TrailBucket", key=self.audit_key, lock=_lock(audit.trail_lock_mode, audit.trail_lock_days), protection=protection
        )
        self.config_bucket = self._evidence_bucket(
            "ConfigBucket", key=self.audit_key, lock=None, protection=protection, expire_after_days=evidence.config_history_days
        )
        self.quarantine_bucket = self._evidence_bucket(
            "QuarantineBucket", key=data_key, lock=_lock(audit.quarantine_lock_mode, audit.quarantine_lock_days), protection=protection
        )
        # PHI found in the wrong place: the tag-based denies (SCPs, permission sets) and the PHI
        # bucket Config rule must cover it like the PHI buckets (S3 ABAC on, or aws:ResourceTag never matches).
        tag_phi_bucket(self.quarantine_bucket)

        # --- CloudTrail (R12) ---
        self.trail_log_group = logs.LogGroup(
            self, "TrailLogs", encryption_key=logs_key, retention=retention(audit.trail_log_retention_days), removal_policy=removal
        )
        trail_logs_role = ManagedPolicyRole(
            self, "TrailLogsRole", assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com"), description="CloudTrail: deliver to its log group"
        )
        trail_logs_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.trail_log_group.log_group_arn}"],
            )
        )
        self._allow_service_delivery(self.trail_bucket, "cloudtrail.amazonaws.com", {"aws:SourceArn": trail_arn}, prefix="AWSLogs")
        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=self.trail_name,
            is_logging=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            s3_bucket_name=self.trail_bucket.bucket_name,
            kms_key_id=self.audit_key.key_arn,
            cloud_watch_logs_log_group_arn=self.trail_log_group.log_group_arn,
            cloud_watch_logs_role_arn=trail_logs_role.role_arn,
            event_selectors=[
                cloudtrail.CfnTrail.EventSelectorProperty(
                    include_management_events=True,
                    read_write_type="All",
                    data_resources=[
                        cloudtrail.CfnTrail.DataResourceProperty(
                            type="AWS::S3::Object", values=[f"{b.bucket_arn}/" for b in [*phi_buckets, self.quarantine_bucket]]
                        )
                    ],
                )
            ],
        )
        # The bucket policy and the role's permissions must exist before CloudTrail checks them.
        self.trail.node.add_dependency(self.trail_bucket.policy or self.trail_bucket, trail_logs_role.node.find_child("GrantsPolicy"))
        self.security_alarms = SecurityEventAlarms(self, "SecurityAlarms", log_group=self.trail_log_group, topic=self.security_topic)
        trace(
            self.trail,
            ["R12"],
            ["security"],
            "A multi-region, validated, KMS-encrypted trail records management events and data events of the PHI and quarantine buckets.",
        )
        trace(self.trail_bucket, ["R12"], ["security"], "Trail log files are kept under Object Lock for the HIPAA six-year documentation rule.")
        trace(self.security_alarms, ["R12", "R13"], ["security", "operational-excellence"], "Security events in the trail page the security topic.")

        # --- AWS Config (R14) ---
        self._config_recorder()
        self.config_rules = HipaaConfigRules(self, "HipaaRules", trail_name=self.trail_name, trail_bucket_name=self.trail_bucket.bucket_name)
        for rule in self.config_rules.rules.values():
            rule.node.add_dependency(*self.recording_resources)
        trace(self.config_rules, ["R14"], ["security", "operational-excellence"], "HIPAA managed Config rules with SSM auto-remediation.")

        # --- Lambda functions (findings notifier, Macie quarantine, custom rule) ---
        # No internet path: SNS, Config (interface endpoints), S3 and DynamoDB (gateway endpoints).
        self.functions_security_group = closed_security_group(
            self, "FunctionsSecurityGroup", vpc=vpc, description="Audit functions: HTTPS to AWS APIs through VPC endpoints only"
        )
        aws_apis.allow(self.functions_security_group, s3=True, dynamodb=True)
        common = {
            "vpc": vpc,
            "vpc_subnets": function_subnets,
            "security_group": self.functions_security_group,
            "logs_key": logs_key,
            "queue_key": self.audit_key,
            "log_retention": retention(config.log_retention_days),
            "removal_policy": removal,
            "powertools_layer_version": config.powertools_layer_version,
        }
        self._phi_bucket_rule(common, data_key)
        self._findings_notifier(common)
        self._macie_quarantine(common, data_key, phi_buckets)

        # --- GuardDuty (unless the account's existing detector is used) ---
        self.detector: guardduty.CfnDetector | None = None
        if not audit.use_existing_guardduty_detector:
            self.detector = guardduty_detector(self, features=(S3_DATA_EVENTS, RDS_LOGIN_EVENTS, RUNTIME_MONITORING))
            trace(self.detector, ["R14"], ["security"], "GuardDuty watches S3 data events, Aurora logins and Fargate runtime behaviour.")

        # --- Audit Manager (behind a switch, see docs/audit.md) ---
        self.assessment: auditmanager.CfnAssessment | None = None
        if audit.audit_manager_enabled and audit.audit_manager_framework_id:
            self._audit_manager(audit.audit_manager_framework_id)

    # ------------------------------------------------------------------------------------------
    def _evidence_bucket(
        self,
        construct_id: str,
        *,
        key: kms.IKey,
        lock: s3.ObjectLockRetention | None,
        protection: EvidenceProtection,
        expire_after_days: int | None = None,
    ) -> s3.Bucket:
        """A KMS-encrypted evidence bucket; without a lock, ``expire_after_days`` must be the retention."""
        audit = self.config.audit
        expiry = cdk.Duration.days(expire_after_days) if expire_after_days is not None else None
        bucket = s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            object_lock_enabled=lock is not None,
            object_lock_default_retention=lock,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=f"{construct_id}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(storage_class=s3.StorageClass.GLACIER, transition_after=cdk.Duration.days(audit.trail_archive_after_days))
                    ],
                    expiration=expiry,
                    noncurrent_version_expiration=expiry,
                )
            ],
            removal_policy=self.config.removal_policy,
        )
        protect_evidence(bucket, protection)
        guard = (
            "Object Lock and a bucket policy that denies"
            if lock is not None
            else "a bucket policy (AWS Config refuses Object Lock buckets) that denies"
        )
        acknowledge(
            bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            f"Evidence stays in the EU primary region (S3 stores it across three AZs) under {guard} deletion to all but "
            "break-glass; a replica would only add a second place for audit data to live.",
        )
        return bucket

    def _allow_service_delivery(self, bucket: s3.IBucket, service: str, condition: dict[str, str], *, prefix: str) -> None:
        principal = iam.ServicePrincipal(service)
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{service.split('.')[0].capitalize()}AclCheck",
                principals=[principal],
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringEquals": condition},
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{service.split('.')[0].capitalize()}Write",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{prefix}/{self.account}/*")],
                conditions={"StringEquals": {**condition, "s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        )

    def _function(self, construct_id: str, **kwargs: object) -> PythonFunction:
        fn = PythonFunction(self, construct_id, **kwargs)  # type: ignore[arg-type]
        return fn

    def _allow_publish(self, role: iam.IRole) -> None:
        """sns:Publish on the security topic and the two KMS calls SNS makes for an encrypted topic."""
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.security_topic.topic_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.audit_key.key_arn]))

    def _config_recorder(self) -> None:
        """Recorder ``default`` and its delivery channel, created in that order, unless the account's
        existing recorder is used (``audit.use_existing_config_recorder``): then neither exists here
        and no rule of ours depends on anything of ours (the existing recorder must be recording)."""
        self.recording: ConfigRecording | None = None
        if self.config.audit.use_existing_config_recorder:
            return
        self._allow_service_delivery(self.config_bucket, "config.amazonaws.com", {"aws:SourceAccount": self.account}, prefix="AWSLogs")
        self.recording = record_configuration(
            self,
            bucket_name=self.config_bucket.bucket_name,
            key_arn=self.audit_key.key_arn,
            include_global_resource_types=True,  # global types (IAM) are recorded here, in the primary region only
            after=[self.config_bucket.policy or self.config_bucket],
        )
        trace(
            self.recording.recorder,
            ["R14"],
            ["security", "operational-excellence"],
            "Config records every resource (global ones here, in the primary region).",
        )

    @property
    def recorder(self) -> awsconfig.CfnConfigurationRecorder | None:
        return self.recording.recorder if self.recording else None

    @property
    def delivery_channel(self) -> awsconfig.CfnDeliveryChannel | None:
        return self.recording.delivery_channel if self.recording else None

    @property
    def recording_resources(self) -> tuple[cdk.CfnResource, ...]:
        """What a Config rule of this stack waits for: nothing when the account's recorder is used."""
        return self.recording.resources if self.recording else ()

    def _phi_bucket_rule(self, common: dict[str, object], data_key: kms.IKey) -> None:
        fn = self._function(
            "PhiBucketRule", source="mv_phi_bucket_rule", description="Config rule: PHI buckets locked, versioned, data key", **common
        )  # type: ignore[arg-type]
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetBucketTagging",
                    "s3:GetBucketObjectLockConfiguration",
                    "s3:GetBucketVersioning",
                    "s3:GetEncryptionConfiguration",
                    "s3:GetBucketLocation",
                ],
                resources=[f"arn:{self.partition}:s3:::*"],
            )
        )
        # The two calls without resource-level permissions, in a policy of their own, so that its
        # acknowledgment says exactly this (the function role's own Resource::* is ENI + X-Ray only).
        evaluations = iam.ManagedPolicy(
            self,
            "PhiBucketRuleEvaluations",
            description="Config rule medivault-phi-bucket-lock: list the buckets, report the evaluations",
            roles=[fn.role],
            statements=[iam.PolicyStatement(actions=["s3:ListAllMyBuckets", "config:PutEvaluations"], resources=["*"])],
        )
        acknowledge(
            evaluations,
            "AwsSolutions-IAM5[Resource::*]",
            "s3:ListAllMyBuckets (which buckets a periodic run evaluates) and config:PutEvaluations (the result) support no "
            "resource-level permissions; the function reads bucket configuration only, never objects.",
        )
        acknowledge(
            fn.role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*]"),
            "The periodic evaluation reads the configuration (tags, lock, versioning, encryption) of every bucket; no object access.",
        )
        data = self.config.data
        # An explicit permission resource (Function.add_permission returns None in Python, so nothing
        # could depend on it): AWS Config checks it when the rule is created (aws-cdk PR #16617).
        # Config assigns the rule's ID at creation, so the source ARN names this account's rules here.
        permission = lambda_.CfnPermission(
            fn.function,
            "ConfigInvokes",
            action="lambda:InvokeFunction",
            function_name=fn.function.function_arn,
            principal="config.amazonaws.com",
            source_account=self.account,
            source_arn=f"arn:{self.partition}:config:{self.region}:{self.account}:config-rule/*",
        )
        self.phi_bucket_rule = awsconfig.CfnConfigRule(
            self,
            "PhiBucketLockRule",
            config_rule_name="medivault-phi-bucket-lock",
            description=f"PHI-tagged buckets: Object Lock {data.object_lock_mode} >= {data.object_lock_days} days, versioning, the data key",
            source=awsconfig.CfnConfigRule.SourceProperty(
                owner="CUSTOM_LAMBDA",
                source_identifier=fn.function.function_arn,
                source_details=[
                    awsconfig.CfnConfigRule.SourceDetailProperty(event_source="aws.config", message_type="ConfigurationItemChangeNotification"),
                    awsconfig.CfnConfigRule.SourceDetailProperty(
                        event_source="aws.config", message_type="OversizedConfigurationItemChangeNotification"
                    ),
                    awsconfig.CfnConfigRule.SourceDetailProperty(
                        event_source="aws.config", message_type="ScheduledNotification", maximum_execution_frequency="TwentyFour_Hours"
                    ),
                ],
            ),
            scope=awsconfig.CfnConfigRule.ScopeProperty(compliance_resource_types=["AWS::S3::Bucket"]),
            input_parameters={
                "tagKey": PHI_TAG_KEY,
                "tagValue": PHI_TAG_VALUE,
                "lockMode": data.object_lock_mode,
                "minRetentionDays": str(data.object_lock_days),
                "kmsKeyArn": data_key.key_arn,
            },
        )
        self.phi_bucket_rule.add_resource_dependency(permission)
        self.phi_bucket_rule.node.add_dependency(evaluations)
        self.phi_bucket_rule.node.add_dependency(*self.recording_resources)
        self.phi_bucket_rule_permission = permission
        trace(
            self.phi_bucket_rule,
            ["R7", "R14"],
            ["security"],
            "A custom Config rule proves every PHI bucket is locked, versioned and under the data key.",
        )

    def _findings_notifier(self, common: dict[str, object]) -> None:
        audit = self.config.audit
        self.findings_table = dynamodb.Table(
            self,
            "FindingsSeen",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.audit_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute="expires_at",
            removal_policy=self.config.removal_policy,
        )
        acknowledge(
            self.findings_table,
            "HIPAA.Security-DynamoDBInBackupPlan",
            "Holds only finding ids seen in the last days (TTL) to suppress repeats; point-in-time recovery is on, "
            "and losing it only repeats a message.",
        )
        fn = self._function(
            "FindingsNotifier",
            source="mv_findings_notifier",
            description="Security findings -> one short message on the security topic",
            environment={
                "TOPIC_ARN": self.security_topic.topic_arn,
                "TABLE_NAME": self.findings_table.table_name,
                "REMEMBER_DAYS": str(audit.finding_memory_days),
            },
            **common,  # type: ignore[arg-type]
        )
        self.findings_table.grant(fn.role, "dynamodb:PutItem", "dynamodb:DeleteItem")
        self._allow_publish(fn.role)
        self.findings_notifier = fn
        target = targets.LambdaFunction(fn.function, dead_letter_queue=fn.dead_letter_queue, retry_attempts=8, max_event_age=cdk.Duration.hours(24))
        patterns = {
            **finding_patterns(audit.guardduty_min_severity),
            "BackupFailures": events.EventPattern(
                source=["aws.backup"], detail_type=["Backup Job State Change", "Copy Job State Change"], detail={"state": FAILED_BACKUP_STATES}
            ),
        }
        self.finding_rules = {name: events.Rule(self, name, event_pattern=pattern, targets=[target]) for name, pattern in patterns.items()}
        trace(
            fn,
            ["R11", "R14"],
            ["security", "operational-excellence"],
            "Findings from GuardDuty, Macie, Config and Backup reach the security team once.",
        )

    def _macie_quarantine(self, common: dict[str, object], data_key: kms.IKey, phi_buckets: Sequence[s3.IBucket]) -> None:
        # Never touched: PHI belongs in the PHI buckets, and evidence must stay where it was written.
        evidence = [self.trail_bucket, self.config_bucket, self.access_log_bucket, *self.external_evidence_buckets]
        protected = [*phi_buckets, *evidence]
        fn = self._function(
            "MacieQuarantine",
            source="mv_macie_quarantine",
            description="Macie finding -> move the object into the locked quarantine bucket",
            environment={
                "QUARANTINE_BUCKET": self.quarantine_bucket.bucket_name,
                "QUARANTINE_KEY_ARN": data_key.key_arn,
                "TOPIC_ARN": self.security_topic.topic_arn,
                "PROTECTED_BUCKETS": ",".join(b.bucket_name for b in protected),
                # Quarantined copies carry the object tag the permission sets deny on (s3:ExistingObjectTag).
                "PHI_TAG": f"{PHI_TAG_KEY}={PHI_TAG_VALUE}",
            },
            timeout=cdk.Duration.minutes(15),
            memory_size=1024,
            **common,  # type: ignore[arg-type]
        )
        # What the function calls (lambda/mv_macie_quarantine/quarantine.py): HeadObject, GetObject
        # and (managed, multipart above 8 MB) CopyObject/UploadPartCopy on the flagged source version,
        # then DeleteObject of that version; Put/Get/tagging on the quarantine copy. Macie may find PHI
        # in any bucket of the account, so the source side is this account's buckets...
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[f"arn:{self.partition}:s3:::*/*"],
                conditions={"StringEquals": {"s3:ResourceAccount": self.account}},
            )
        )
        # ... except the PHI and evidence buckets: no object read, write, delete or listing there
        # (an explicit deny beats every allow, this role's and any added later).
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject"],
                resources=[b.arn_for_objects("*") for b in protected],
            )
        )
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[b.bucket_arn for b in protected],
            )
        )
        # HeadObject answers 404 (not 403) for a missing object only with ListBucket.
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[f"arn:{self.partition}:s3:::*"],
                conditions={"StringEquals": {"s3:ResourceAccount": self.account}},
            )
        )
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging", "s3:AbortMultipartUpload"],
                resources=[self.quarantine_bucket.arn_for_objects("*")],
            )
        )
        # The quarantine copy is evidence: this role never removes or unlocks it.
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:DeleteObject*", "s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:PutObjectLegalHold"],
                resources=[self.quarantine_bucket.arn_for_objects("*")],
            )
        )
        # The data key through S3 only (the quarantine bucket's key), and never for a PHI bucket's
        # objects: S3 passes the bucket ARN (Bucket Keys) or object ARN as aws:s3:arn encryption context.
        via_s3 = {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[data_key.key_arn], conditions={"StringEquals": via_s3})
        )
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["kms:Decrypt"],
                resources=[data_key.key_arn],
                conditions={
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [a for b in phi_buckets for a in (b.bucket_arn, b.arn_for_objects("*"))]}
                },
            )
        )
        self._allow_publish(fn.role)
        acknowledge(
            fn.role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*/*]"),
            "Macie can find PHI in any bucket of this account; reading and deleting the flagged object is limited to this account "
            "(s3:ResourceAccount), and an explicit deny blocks every object read, write, delete and listing on the PHI buckets and "
            "on every evidence bucket (trail, Config, the S3/ALB/CloudFront access-log buckets); the data key cannot decrypt PHI "
            "bucket objects for this role.",
        )
        acknowledge(
            fn.role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*]"),
            "ListBucket on this account's buckets, so a missing object reads as 404 and a redelivery is recognised; "
            "explicitly denied on the PHI and evidence buckets.",
        )
        acknowledge(
            fn.role,
            "AwsSolutions-IAM5[Resource::<QuarantineBucketFDBDA180.Arn>/*]",
            "The quarantine keys are derived from each finding (bucket/version/key); only objects of the quarantine bucket, "
            "which this role may write and read back but never delete or unlock.",
        )
        rule = events.Rule(
            self,
            "MacieSensitiveObjects",
            event_pattern=events.EventPattern(
                source=["aws.macie"], detail_type=["Macie Finding"], detail={"type": [{"prefix": "SensitiveData:S3Object/"}]}
            ),
            targets=[
                targets.LambdaFunction(fn.function, dead_letter_queue=fn.dead_letter_queue, retry_attempts=8, max_event_age=cdk.Duration.hours(24))
            ],
        )
        self.macie_quarantine = fn
        self.macie_rule = rule
        trace(fn, ["R11"], ["security"], "PHI found outside the PHI buckets is moved, verified, into a locked quarantine bucket.")

    def _audit_manager(self, framework_id: str) -> None:
        owner = ManagedPolicyRole(
            self,
            "AuditOwnerRole",
            assumed_by=iam.AccountPrincipal(self.account),
            description="Audit Manager assessment owner (assumed through IAM Identity Center by the compliance officer)",
        )
        owner.add_to_principal_policy(
            iam.PolicyStatement(actions=["auditmanager:Get*", "auditmanager:List*", "auditmanager:CreateAssessmentReport"], resources=["*"])
        )
        acknowledge(owner, "AwsSolutions-IAM5[Action::auditmanager:Get*]", "Read-only Audit Manager access for the assessment owner.")
        acknowledge(owner, "AwsSolutions-IAM5[Action::auditmanager:List*]", "Read-only Audit Manager access for the assessment owner.")
        acknowledge(owner, "AwsSolutions-IAM5[Resource::*]", "Audit Manager list calls and report creation have no resource-level permissions.")
        self.assessment = auditmanager.CfnAssessment(
            self,
            "HipaaAssessment",
            name=f"medivault-{self.config.name}-hipaa",
            description="MediVault EU: HIPAA Security Rule evidence (Config, CloudTrail, Security Hub)",
            framework_id=framework_id,
            aws_account=auditmanager.CfnAssessment.AWSAccountProperty(id=self.account),
            scope=auditmanager.CfnAssessment.ScopeProperty(aws_accounts=[auditmanager.CfnAssessment.AWSAccountProperty(id=self.account)]),
            roles=[auditmanager.CfnAssessment.RoleProperty(role_arn=owner.role_arn, role_type="PROCESS_OWNER")],
            assessment_reports_destination=auditmanager.CfnAssessment.AssessmentReportsDestinationProperty(
                destination=f"s3://{self.config_bucket.bucket_name}/audit-manager", destination_type="S3"
            ),
            status="ACTIVE",
        )
        trace(self.assessment, ["R14"], ["security", "operational-excellence"], "Audit Manager collects HIPAA evidence continuously.")
