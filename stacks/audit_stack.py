"""Audit and governance (R11 alerting, R12, R14): CloudTrail, AWS Config, GuardDuty, findings routing.

Stateful (the trail, Config and quarantine buckets are evidence): retained in production. The stack
wires constructs: the audit key and trail (``constructs/audit_trail.py``), the evidence buckets
(``EvidenceBucket``, ``LogBucket``), the security topic (``AlertTopic``), the findings notifier
(``constructs/findings_notifier.py``) and the Macie quarantine (``constructs/macie_quarantine.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_auditmanager as auditmanager
from aws_cdk import aws_config as awsconfig
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.access_log_bucket import LogBucket, LogBucketSettings
from constructs.alert_topic import AlertTopic
from constructs.audit_manager import HipaaAssessment
from constructs.audit_trail import AuditTrail, AuditTrailSettings, audit_key
from constructs.data_classification import tag_phi_bucket
from constructs.detection_baseline import (
    RDS_LOGIN_EVENTS,
    RUNTIME_MONITORING,
    S3_DATA_EVENTS,
    ConfigRecording,
    guardduty_detector,
    record_configuration,
)
from constructs.egress import AwsApiPaths, closed_security_group
from constructs.evidence_bucket import EvidenceBucket, EvidenceLock, allow_service_delivery
from constructs.findings_notifier import FindingsNotifier, FindingsNotifierSettings, FindingsTable
from constructs.hipaa_config_rules import HipaaConfigRules
from constructs.log_retention import retention
from constructs.macie_quarantine import MacieQuarantine, MacieQuarantineSettings
from constructs.medivault_function import FunctionSettings
from constructs.phi_bucket_rule import PhiBucketRule, PhiBucketRuleSettings
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.evidence import evidence_protection


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
        audit, evidence, removal = config.audit, config.evidence, config.removal_policy
        self.trail_name = f"medivault-{config.name}"

        self.audit_key = audit_key(self, "AuditKey", alias=f"alias/medivault/{config.name}/audit", trail_name=self.trail_name, removal_policy=removal)
        self.security_topic = AlertTopic(
            self, "SecurityTopic", display_name=f"MediVault {config.name} security", key=self.audit_key, emails=[audit.security_email]
        )

        # --- buckets: server access logs, trail (locked), Config delivery, quarantine (locked) ---
        # Every one is evidence (protect_evidence). Object Lock where the writer allows it: CloudTrail
        # and the quarantine copy do; S3 server access logging and AWS Config refuse Object Lock buckets.
        self.access_log_bucket = LogBucket(
            self,
            "AccessLogBucket",
            settings=LogBucketSettings(
                retention_days=evidence.evidence_access_log_days,
                archive_class="GLACIER",
                archive_after_days=audit.trail_archive_after_days,
                rule_id=None,
                abort_incomplete_upload_days=None,
                replication_reason="Access logs of the audit buckets stay in the EU primary region (S3 stores them across three AZs); "
                "they are not needed to restore service, and their bucket policy denies deletion to all but break-glass.",
                unlogged_reason="This is the server-access-log bucket of the audit buckets; logging it into itself would log its own "
                "log writes forever.",
            ),
            protection=protection,
            removal_policy=removal,
        )
        bucket = {"access_logs": self.access_log_bucket, "archive_after_days": audit.trail_archive_after_days, "protection": protection}
        self.trail_bucket = EvidenceBucket(
            self, "TrailBucket", key=self.audit_key, lock=EvidenceLock(mode=audit.trail_lock_mode, days=audit.trail_lock_days),
            removal_policy=removal, **bucket,  # type: ignore[arg-type]
        )  # fmt: skip
        self.config_bucket = EvidenceBucket(
            self, "ConfigBucket", key=self.audit_key, lock=None, expire_after_days=evidence.config_history_days,
            removal_policy=removal, **bucket,  # type: ignore[arg-type]
        )  # fmt: skip
        self.quarantine_bucket = EvidenceBucket(
            self, "QuarantineBucket", key=data_key, lock=EvidenceLock(mode=audit.quarantine_lock_mode, days=audit.quarantine_lock_days),
            removal_policy=removal, **bucket,  # type: ignore[arg-type]
        )  # fmt: skip
        # PHI found in the wrong place: the tag-based denies (SCPs, permission sets) and the PHI
        # bucket Config rule must cover it like the PHI buckets (S3 ABAC on, or aws:ResourceTag never matches).
        tag_phi_bucket(self.quarantine_bucket)

        # --- CloudTrail (R12) ---
        self.audit_trail = AuditTrail(
            self,
            settings=AuditTrailSettings(trail_name=self.trail_name, log_retention_days=audit.trail_log_retention_days),
            bucket=self.trail_bucket,
            key=self.audit_key,
            logs_key=logs_key,
            data_event_buckets=[*phi_buckets, self.quarantine_bucket],
            topic=self.security_topic,
            removal_policy=removal,
        )
        self.trail, self.trail_log_group, self.security_alarms = self.audit_trail.trail, self.audit_trail.log_group, self.audit_trail.alarms

        # --- AWS Config (R14) ---
        self._config_recorder()
        self.config_rules = HipaaConfigRules(self, "HipaaRules", trail_name=self.trail_name, trail_bucket_name=self.trail_bucket.bucket_name)
        for rule in self.config_rules.rules.values():
            rule.node.add_dependency(*self.recording_resources)
        trace(self.config_rules, ["R14"], ["security", "operational-excellence"], "HIPAA managed Config rules with SSM auto-remediation.")

        # --- Lambda functions (custom rule, findings notifier, Macie quarantine) ---
        # No internet path: SNS, Config (interface endpoints), S3 and DynamoDB (gateway endpoints).
        self.functions_security_group = closed_security_group(
            self, "FunctionsSecurityGroup", vpc=vpc, description="Audit functions: HTTPS to AWS APIs through VPC endpoints only"
        )
        aws_apis.allow(self.functions_security_group, s3=True, dynamodb=True)
        function = FunctionSettings(
            vpc=vpc,
            vpc_subnets=function_subnets,
            security_group=self.functions_security_group,
            logs_key=logs_key,
            queue_key=self.audit_key,  # admits EventBridge (audit_key), so undeliverable findings reach the queues
            log_retention=retention(config.log_retention_days),
            removal_policy=removal,
            powertools_layer_version=config.powertools_layer_version,
        )
        self.phi_bucket_rule_function = PhiBucketRule(
            self,
            "PhiBucketRule",
            settings=PhiBucketRuleSettings(lock_mode=config.data.object_lock_mode, min_retention_days=config.data.object_lock_days),
            function=function,
            data_key=data_key,
            after=self.recording_resources,
        )
        self.phi_bucket_rule, self.phi_bucket_rule_permission = self.phi_bucket_rule_function.rule, self.phi_bucket_rule_function.permission
        self.findings_table = FindingsTable(self, "FindingsSeen", key=self.audit_key, removal_policy=removal)
        self.findings_notifier = FindingsNotifier(
            self,
            "FindingsNotifier",
            settings=FindingsNotifierSettings(guardduty_min_severity=audit.guardduty_min_severity, remember_days=audit.finding_memory_days),
            function=function,
            table=self.findings_table,
            topic=self.security_topic,
        )
        self.finding_rules = self.findings_notifier.rules
        self.macie_quarantine = MacieQuarantine(
            self,
            "MacieQuarantine",
            settings=MacieQuarantineSettings(),
            function=function,
            quarantine_bucket=self.quarantine_bucket,
            data_key=data_key,
            topic=self.security_topic,
            phi_buckets=phi_buckets,
            evidence_buckets=[self.trail_bucket, self.config_bucket, self.access_log_bucket, *self.external_evidence_buckets],
        )
        self.macie_rule = self.macie_quarantine.rule

        # --- GuardDuty (unless the account's existing detector is used) ---
        self.detector: guardduty.CfnDetector | None = None
        if not audit.use_existing_guardduty_detector:
            self.detector = guardduty_detector(self, features=(S3_DATA_EVENTS, RDS_LOGIN_EVENTS, RUNTIME_MONITORING))
            trace(self.detector, ["R14"], ["security"], "GuardDuty watches S3 data events, Aurora logins and Fargate runtime behaviour.")

        # --- Audit Manager (behind a switch, see docs/audit.md) ---
        self.assessment: auditmanager.CfnAssessment | None = None
        if audit.audit_manager_enabled and audit.audit_manager_framework_id:
            self.assessment = HipaaAssessment(
                self,
                "HipaaAssessment",
                name=f"medivault-{config.name}-hipaa",
                framework_id=audit.audit_manager_framework_id,
                reports_bucket=self.config_bucket,
            )

    # ------------------------------------------------------------------------------------------
    def _config_recorder(self) -> None:
        """Recorder ``default`` and its delivery channel, created in that order, unless the account's
        existing recorder is used (``audit.use_existing_config_recorder``): then neither exists here
        and no rule of ours depends on anything of ours (the existing recorder must be recording)."""
        self.recording: ConfigRecording | None = None
        if self.config.audit.use_existing_config_recorder:
            return
        allow_service_delivery(self.config_bucket, "config.amazonaws.com", {"aws:SourceAccount": self.account}, prefix="AWSLogs")
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
