"""The HIPAA Config rules, asserted exactly in each region where they deploy (issue 19, "Tests that catch bugs").

An "at least 25 rules and this subset" assertion let 27 of the 44 primary-region rules be removed
unnoticed. Here the whole list is written out: rule name, AWS managed-rule identifier, periodic
(24 h) or change-triggered, and the input parameters. Identifiers: AWS Config Developer Guide,
"List of AWS Config Managed Rules" https://docs.aws.amazon.com/config/latest/developerguide/managed-rules-by-aws-config.html,
chosen from the "Operational Best Practices for HIPAA Security" conformance pack
https://docs.aws.amazon.com/config/latest/developerguide/operational-best-practices-for-hipaa_security.html.
The templates come from the production stage (tests/stacks/guard_stage.py); sandbox deploys the same rules.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.stacks.guard_stage import resources, templates

pytestmark = pytest.mark.requirements("R14")

DAILY = "TwentyFour_Hours"
Rule = tuple[str, str, str | None, dict[str, Any] | None]

PRIMARY: tuple[Rule, ...] = (
    ("s3-bucket-server-side-encryption-enabled", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", None, None),
    ("s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS", None, None),
    ("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED", None, None),
    ("rds-snapshot-encrypted", "RDS_SNAPSHOT_ENCRYPTED", None, None),
    ("encrypted-volumes", "ENCRYPTED_VOLUMES", None, None),
    ("cloud-trail-encryption-enabled", "CLOUD_TRAIL_ENCRYPTION_ENABLED", DAILY, None),
    ("sns-encrypted-kms", "SNS_ENCRYPTED_KMS", None, None),
    ("secretsmanager-using-cmk", "SECRETSMANAGER_USING_CMK", None, None),
    ("kms-cmk-not-scheduled-for-deletion", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", None, None),
    ("s3-bucket-ssl-requests-only", "S3_BUCKET_SSL_REQUESTS_ONLY", None, None),
    ("elb-tls-https-listeners-only", "ELB_TLS_HTTPS_LISTENERS_ONLY", None, None),
    ("alb-http-to-https-redirection-check", "ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK", DAILY, None),
    ("s3-bucket-public-read-prohibited", "S3_BUCKET_PUBLIC_READ_PROHIBITED", None, None),
    ("s3-bucket-public-write-prohibited", "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", None, None),
    ("s3-account-level-public-access-blocks-periodic", "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC", DAILY, None),
    ("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", None, None),
    ("rds-snapshots-public-prohibited", "RDS_SNAPSHOTS_PUBLIC_PROHIBITED", None, None),
    ("lambda-function-public-access-prohibited", "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED", None, None),
    ("restricted-ssh", "INCOMING_SSH_DISABLED", None, None),
    ("restricted-common-ports", "RESTRICTED_INCOMING_TRAFFIC", None,
     {"blockedPort1": 20, "blockedPort2": 21, "blockedPort3": 3389, "blockedPort4": 3306, "blockedPort5": 5432}),
    ("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", None, None),
    ("subnet-auto-assign-public-ip-disabled", "SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED", None, None),
    ("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED", DAILY, None),
    ("multi-region-cloudtrail-enabled", "MULTI_REGION_CLOUD_TRAIL_ENABLED", DAILY, None),
    ("cloud-trail-log-file-validation-enabled", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", DAILY, None),
    ("cloud-trail-cloud-watch-logs-enabled", "CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED", DAILY, None),
    ("cloudtrail-s3-dataevents-enabled", "CLOUDTRAIL_S3_DATAEVENTS_ENABLED", DAILY, None),
    ("s3-bucket-logging-enabled", "S3_BUCKET_LOGGING_ENABLED", None, None),
    ("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", DAILY, None),
    ("rds-logging-enabled", "RDS_LOGGING_ENABLED", None, None),
    ("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", DAILY, None),
    ("db-instance-backup-enabled", "DB_INSTANCE_BACKUP_ENABLED", None, None),
    ("rds-cluster-deletion-protection-enabled", "RDS_CLUSTER_DELETION_PROTECTION_ENABLED", None, None),
    ("s3-bucket-versioning-enabled", "S3_BUCKET_VERSIONING_ENABLED", None, None),
    ("dynamodb-pitr-enabled", "DYNAMODB_PITR_ENABLED", None, None),
    ("elasticache-redis-cluster-automatic-backup-check", "ELASTICACHE_REDIS_CLUSTER_AUTOMATIC_BACKUP_CHECK", DAILY, None),
    ("root-account-mfa-enabled", "ROOT_ACCOUNT_MFA_ENABLED", DAILY, None),
    ("iam-root-access-key-check", "IAM_ROOT_ACCESS_KEY_CHECK", DAILY, None),
    ("mfa-enabled-for-iam-console-access", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", DAILY, None),
    ("iam-user-no-policies-check", "IAM_USER_NO_POLICIES_CHECK", None, None),
    ("iam-policy-no-statements-with-admin-access", "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", None, None),
    ("iam-no-inline-policy-check", "IAM_NO_INLINE_POLICY_CHECK", None, None),
    ("access-keys-rotated", "ACCESS_KEYS_ROTATED", DAILY, {"maxAccessKeyAge": 90}),
    ("secretsmanager-rotation-enabled-check", "SECRETSMANAGER_ROTATION_ENABLED_CHECK", None, None),
)  # fmt: skip
# eu-west-1: the DR key, the locked DR vault and its recovery points; restores after losing Frankfurt.
DR: tuple[Rule, ...] = (
    ("backup-recovery-point-encrypted", "BACKUP_RECOVERY_POINT_ENCRYPTED", None, None),
    ("backup-recovery-point-manual-deletion-disabled", "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED", None, None),
    ("kms-cmk-not-scheduled-for-deletion", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", None, None),
    ("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", DAILY, None),
    ("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED", None, None),
    ("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", None, None),
    ("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", None, None),
)
# us-east-1: only what CloudFront forces there (WAF web ACL and its logs and key, the certificate).
EDGE: tuple[Rule, ...] = (
    ("wafv2-logging-enabled", "WAFV2_LOGGING_ENABLED", None, None),
    ("kms-cmk-not-scheduled-for-deletion", "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", None, None),
    ("acm-certificate-expiration-check", "ACM_CERTIFICATE_EXPIRATION_CHECK", None, {"daysToExpiration": 30}),
    ("guardduty-enabled-centralized", "GUARDDUTY_ENABLED_CENTRALIZED", DAILY, None),
)


def _managed_rules(stack: str) -> list[Rule]:
    found: list[Rule] = []
    for rule in resources(templates("production")[stack], "AWS::Config::ConfigRule").values():
        p = rule["Properties"]
        if p["Source"]["Owner"] == "AWS":
            found.append((p["ConfigRuleName"], p["Source"]["SourceIdentifier"], p.get("MaximumExecutionFrequency"), p.get("InputParameters")))
    return found


def test_the_primary_list_has_44_distinct_identifiers() -> None:
    assert len(PRIMARY) == 44 and len({identifier for _, identifier, _, _ in PRIMARY}) == 44


@pytest.mark.parametrize(("stack", "expected"), [("Audit", PRIMARY), ("DetectionDr", DR), ("DetectionEdge", EDGE)])
def test_managed_rules_are_exactly_the_list_of_their_region(stack: str, expected: tuple[Rule, ...]) -> None:
    found = _managed_rules(stack)
    assert len(found) == len(expected), "a rule was added or removed (update this list and docs/audit.md together)"
    assert sorted(found, key=repr) == sorted(expected, key=repr)
