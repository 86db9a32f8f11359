"""AWS Config managed rules for HIPAA security, and automatic remediation through SSM Automation.

The rules are chosen from AWS's "Operational Best Practices for HIPAA Security" conformance pack
(shared/reference/aws-config-hipaa-rules.tsv). They are deployed as individual rules, not as a
conformance pack, because Config refuses remediation configurations on conformance-pack rules.

Remediations run AWS-owned SSM Automation runbooks with one automation role whose permissions are
only what those runbooks call. Each is automatic with bounded retries (a remediation that keeps
failing stops and leaves the rule NON_COMPLIANT, which the findings notifier reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.finding_ids import arn_id
from constructs.managed_policy_role import ManagedPolicyRole

RESOURCE_ID = "RESOURCE_ID"


@dataclass(frozen=True)
class Remediation:
    document: str  # AWS-owned SSM Automation runbook
    resource_parameter: str  # the runbook parameter that receives the non-compliant resource's ID
    static: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class HipaaRule:
    name: str
    identifier: str
    why: str
    input_parameters: dict[str, object] = field(default_factory=dict)
    remediation: Remediation | None = None
    # Periodic rules (account-level checks) need a frequency; change-triggered ones do not.
    periodic: bool = False


def hipaa_rules(*, trail_name: str, trail_bucket_name: str) -> tuple[HipaaRule, ...]:
    """The managed rules, with remediation where the issue asks for it."""
    public_access = Remediation("AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock", "BucketName")
    return (
        # Encryption at rest
        HipaaRule("s3-bucket-server-side-encryption-enabled", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "S3 at rest",
                  remediation=Remediation("AWS-EnableS3BucketEncryption", "BucketName", {"SSEAlgorithm": ["aws:kms"]})),
        HipaaRule("s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS", "S3 under KMS keys"),
        HipaaRule("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED", "Aurora at rest"),
        HipaaRule("rds-snapshot-encrypted", "RDS_SNAPSHOT_ENCRYPTED", "Aurora snapshots at rest"),
        HipaaRule("encrypted-volumes", "ENCRYPTED_VOLUMES", "EBS at rest"),
        HipaaRule("cloud-trail-encryption-enabled", "CLOUD_TRAIL_ENCRYPTION_ENABLED", "trail logs under KMS", periodic=True),
        HipaaRule("sns-encrypted-kms", "SNS_ENCRYPTED_KMS", "topics under KMS"),
        HipaaRule("secretsmanager-using-cmk", "SECRETSMANAGER_USING_CMK", "secrets under customer keys"),
        HipaaRule("kms-cmk-not-scheduled-for-deletion", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", "keys that decrypt PHI stay"),
        # Encryption in transit
        HipaaRule("s3-bucket-ssl-requests-only", "S3_BUCKET_SSL_REQUESTS_ONLY", "TLS to S3"),
        HipaaRule("elb-tls-https-listeners-only", "ELB_TLS_HTTPS_LISTENERS_ONLY", "TLS to the load balancer"),
        HipaaRule("alb-http-to-https-redirection-check", "ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK", "no plain HTTP", periodic=True),
        # Public access
        HipaaRule("s3-bucket-public-read-prohibited", "S3_BUCKET_PUBLIC_READ_PROHIBITED", "no public reads", remediation=public_access),
        HipaaRule("s3-bucket-public-write-prohibited", "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "no public writes", remediation=public_access),
        HipaaRule("s3-account-level-public-access-blocks-periodic", "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC", "account-wide block",
                  periodic=True),
        HipaaRule("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", "no public database"),
        HipaaRule("rds-snapshots-public-prohibited", "RDS_SNAPSHOTS_PUBLIC_PROHIBITED", "no public snapshots"),
        HipaaRule("lambda-function-public-access-prohibited", "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED", "no public functions"),
        HipaaRule("restricted-ssh", "INCOMING_SSH_DISABLED", "no SSH from anywhere",
                  remediation=Remediation("AWS-DisableIncomingSSHOnPort22", "SecurityGroupIds")),
        HipaaRule("restricted-common-ports", "RESTRICTED_INCOMING_TRAFFIC", "no RDP/database ports from anywhere",
                  input_parameters={"blockedPort1": 20, "blockedPort2": 21, "blockedPort3": 3389, "blockedPort4": 3306, "blockedPort5": 5432},
                  remediation=Remediation("AWS-DisablePublicAccessForSecurityGroup", "GroupId")),
        HipaaRule("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", "default groups deny"),
        HipaaRule("subnet-auto-assign-public-ip-disabled", "SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED", "no accidental public IPs"),
        # Logging and monitoring
        HipaaRule("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED", "a trail is logging", periodic=True,
                  remediation=Remediation("AWS-EnableCloudTrail", "", {"TrailName": [trail_name], "S3BucketName": [trail_bucket_name]})),
        HipaaRule("multi-region-cloudtrail-enabled", "MULTI_REGION_CLOUD_TRAIL_ENABLED", "all regions", periodic=True),
        HipaaRule("cloud-trail-log-file-validation-enabled", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", "tamper evidence", periodic=True),
        HipaaRule("cloud-trail-cloud-watch-logs-enabled", "CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED", "alarms on the trail", periodic=True),
        HipaaRule("cloudtrail-s3-dataevents-enabled", "CLOUDTRAIL_S3_DATAEVENTS_ENABLED", "who read which record", periodic=True),
        HipaaRule("s3-bucket-logging-enabled", "S3_BUCKET_LOGGING_ENABLED", "bucket access logs"),
        HipaaRule("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", "network evidence", periodic=True),
        HipaaRule("rds-logging-enabled", "RDS_LOGGING_ENABLED", "database logs"),
        HipaaRule("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", "threat detection on", periodic=True),
        # Backups and resilience
        HipaaRule("db-instance-backup-enabled", "DB_INSTANCE_BACKUP_ENABLED", "database backups"),
        HipaaRule("rds-cluster-deletion-protection-enabled", "RDS_CLUSTER_DELETION_PROTECTION_ENABLED", "database not deletable by accident"),
        HipaaRule("s3-bucket-versioning-enabled", "S3_BUCKET_VERSIONING_ENABLED", "object versions kept"),
        HipaaRule("dynamodb-pitr-enabled", "DYNAMODB_PITR_ENABLED", "table point-in-time recovery"),
        HipaaRule("elasticache-redis-cluster-automatic-backup-check", "ELASTICACHE_REDIS_CLUSTER_AUTOMATIC_BACKUP_CHECK", "cache snapshots",
                  periodic=True),
        # Identity: MFA, root, IAM
        HipaaRule("root-account-mfa-enabled", "ROOT_ACCOUNT_MFA_ENABLED", "root has MFA", periodic=True),
        HipaaRule("iam-root-access-key-check", "IAM_ROOT_ACCESS_KEY_CHECK", "root has no access keys", periodic=True),
        HipaaRule("mfa-enabled-for-iam-console-access", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", "console users have MFA", periodic=True),
        HipaaRule("iam-user-no-policies-check", "IAM_USER_NO_POLICIES_CHECK", "permissions via roles, not users"),
        HipaaRule("iam-policy-no-statements-with-admin-access", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", "no *:* policies"),
        HipaaRule("iam-no-inline-policy-check", "IAM_NO_INLINE_POLICY_CHECK", "reviewable managed policies"),
        HipaaRule("access-keys-rotated", "ACCESS_KEYS_ROTATED", "no stale keys", input_parameters={"maxAccessKeyAge": 90}, periodic=True),
        HipaaRule("secretsmanager-rotation-enabled-check", "SECRETSMANAGER_ROTATION_ENABLED_CHECK", "rotated secrets (R10)"),
    )  # fmt: skip


def managed_rule(scope: Construct, rule: HipaaRule, *, description_prefix: str = "MediVault HIPAA") -> config.ManagedRule:
    """One AWS managed Config rule from its HIPAA-pack entry (construct ID and rule name = ``rule.name``)."""
    return config.ManagedRule(
        scope,
        rule.name,
        config_rule_name=rule.name,
        identifier=rule.identifier,
        description=f"{description_prefix}: {rule.why}",
        input_parameters=rule.input_parameters or None,
        maximum_execution_frequency=config.MaximumExecutionFrequency.TWENTY_FOUR_HOURS if rule.periodic else None,
    )


def dr_region_rules() -> tuple[HipaaRule, ...]:
    """eu-west-1 holds the DR backup key, the locked DR vault and its recovery points, and is where
    Aurora and the buckets are restored after the loss of Frankfurt: the rules that matter there."""
    return (
        HipaaRule("backup-recovery-point-encrypted", "BACKUP_RECOVERY_POINT_ENCRYPTED", "DR copies encrypted"),
        HipaaRule("backup-recovery-point-manual-deletion-disabled", "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
                  "DR copies cannot be deleted by hand"),
        HipaaRule("kms-cmk-not-scheduled-for-deletion", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", "the DR key that decrypts the copies stays"),
        HipaaRule("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", "threat detection on", periodic=True),
        HipaaRule("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED", "a restored Aurora at rest"),
        HipaaRule("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", "no public restored database"),
        HipaaRule("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", "default groups deny"),
    )  # fmt: skip


def edge_region_rules() -> tuple[HipaaRule, ...]:
    """us-east-1 holds only what CloudFront forces there: the WAF web ACL and its logs (with their
    key) and the CloudFront certificate."""
    return (
        HipaaRule("wafv2-logging-enabled", "WAFV2_LOGGING_ENABLED", "WAF decisions logged"),
        HipaaRule("kms-cmk-not-scheduled-for-deletion", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", "the WAF log key stays"),
        HipaaRule("acm-certificate-expiration-check", "ACM_CERTIFICATE_EXPIRATION_CHECK", "the CloudFront certificate renews",
                  input_parameters={"daysToExpiration": 30}),
        HipaaRule("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", "threat detection on", periodic=True),
    )  # fmt: skip


# What the runbooks above call, and nothing else.
AUTOMATION_STATEMENTS = (
    # AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock, AWS-EnableS3BucketEncryption
    (("s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"),
     "arn:{partition}:s3:::*"),
    # AWS-DisableIncomingSSHOnPort22, AWS-DisablePublicAccessForSecurityGroup
    (("ec2:RevokeSecurityGroupIngress",), "arn:{partition}:ec2:{region}:{account}:security-group/*"),
    (("ec2:DescribeSecurityGroups",), "*"),
    # AWS-EnableCloudTrail
    (("cloudtrail:StartLogging", "cloudtrail:CreateTrail", "cloudtrail:GetTrailStatus"), "arn:{partition}:cloudtrail:{region}:{account}:trail/*"),
    (("cloudtrail:DescribeTrails",), "*"),
)  # fmt: skip


class HipaaConfigRules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail_name: str,
        trail_bucket_name: str,
        max_attempts: int = 5,
        retry_seconds: int = 60,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.automation_role = ManagedPolicyRole(
            self,
            "AutomationRole",
            assumed_by=iam.ServicePrincipal("ssm.amazonaws.com").with_conditions({"StringEquals": {"aws:SourceAccount": stack.account}}),
            description="SSM Automation: runs the Config auto-remediations (public S3, S3 encryption, SSH/RDP ingress, CloudTrail)",
        )
        for actions, resource in AUTOMATION_STATEMENTS:
            self.automation_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(actions), resources=[resource.format(partition=stack.partition, region=stack.region, account=stack.account)]
                )
            )
        acknowledge(
            self.automation_role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*]"),
            "Remediation must reach whichever bucket Config finds public or unencrypted; only the public-access-block and "
            "default-encryption settings can be written (no object access).",
        )
        for service, resource in (("ec2", "security-group/*"), ("cloudtrail", "trail/*")):
            acknowledge(
                self.automation_role,
                arn_id(self, f"AwsSolutions-IAM5[Resource::arn:{{partition}}:{service}:{{region}}:{{account}}:{resource}]"),
                "The non-compliant security group or trail is only known when Config evaluates; the role may only revoke "
                "security-group ingress, or create, start and read the status of trails, in this account and region.",
            )
        acknowledge(
            self.automation_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeSecurityGroups and cloudtrail:DescribeTrails support no resource-level permissions (read-only).",
        )

        self.rules: dict[str, config.ManagedRule] = {}
        self.remediations: dict[str, config.CfnRemediationConfiguration] = {}
        for rule in hipaa_rules(trail_name=trail_name, trail_bucket_name=trail_bucket_name):
            managed = managed_rule(self, rule)
            self.rules[rule.name] = managed
            if rule.remediation is not None:
                self.remediations[rule.name] = self._remediate(rule.name, managed, rule.remediation, max_attempts, retry_seconds)

    def _remediate(
        self, name: str, rule: config.ManagedRule, remediation: Remediation, max_attempts: int, retry_seconds: int
    ) -> config.CfnRemediationConfiguration:
        parameters: dict[str, object] = {"AutomationAssumeRole": {"StaticValue": {"Values": [self.automation_role.role_arn]}}}
        if remediation.resource_parameter:
            parameters[remediation.resource_parameter] = {"ResourceValue": {"Value": RESOURCE_ID}}
        for key, values in remediation.static.items():
            parameters[key] = {"StaticValue": {"Values": values}}
        return config.CfnRemediationConfiguration(
            self,
            f"{name}-remediation",
            config_rule_name=rule.config_rule_name,
            target_type="SSM_DOCUMENT",
            target_id=remediation.document,
            parameters=parameters,
            automatic=True,
            maximum_automatic_attempts=max_attempts,
            retry_attempt_seconds=retry_seconds,
        )
