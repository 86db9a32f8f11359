"""The planted bugs of ``make mutate``: one security-relevant mistake each, and the tests that must notice.

Each entry is a bug a plausible change could introduce (issue 19, "Tests that catch bugs"):
inverted or loosened CIS patterns, a HIPAA rule dropped, IAM widened to ``*``, a ViaService or
SourceAccount condition dropped, a short KMS window or DESTROY in production, a floor moved, a
public range accepted as private, TLS 1.0 accepted, a secret logged, a threshold compared with
``<=``. ``tests`` names only the files that should catch it, so a run stays affordable (most
are tests/stacks/test_guards_*.py, which build one stage without the compliance gates).
``owner`` marks code another area owns (``handlers``: lambda/*), whose tests live there.
"""

# ruff: noqa: E501  (a table of source snippets: each row is kept whole so it can be compared with the code it mutates)
from __future__ import annotations

from tools.mutate.runner import Mutation

CIS = ("tests/stacks/test_guards_cis.py",)
HIPAA = ("tests/stacks/test_guards_hipaa_rules.py",)
AUDIT_IAM = ("tests/stacks/test_guards_audit_iam.py",)
VIA = ("tests/stacks/test_guards_via_service.py",)
RETENTION = ("tests/stacks/test_guards_production_retention.py",)
FLOORS = ("tests/stacks/test_guards_config_floors.py",)
READINESS_STACK = ("tests/stacks/test_guards_readiness.py", "tests/stacks/test_guards_config_floors.py")
READINESS_LOGIC = ("tests/lambda/test_guards_readiness.py", "tests/lambda/test_dr_readiness.py")
REDIS_TLS = ("tests/service/test_guards_redis_tls.py",)
DB_TLS = ("tests/service/test_readiness.py::test_tls_context_requires_verification_and_tls12",)
SERVICE_LOGS = ("tests/service/test_guards_secret_logs.py",)
NOTIFIER = ("tests/lambda/test_findings_notifier.py",)
QUARANTINE = ("tests/lambda/test_macie_quarantine.py",)
PHI_RULE = ("tests/lambda/test_phi_bucket_rule.py",)
ROTATION = ("tests/lambda/test_secret_rotation_cache.py", "tests/lambda/test_secret_rotation_origin.py", "tests/lambda/test_no_secret_in_logs.py")

ALARMS = "constructs/security_alarms.py"
RULES = "constructs/hipaa_config_rules.py"
KEY = "constructs/purpose_key.py"

MUTATIONS: tuple[Mutation, ...] = (
    # --- CIS metric filters and alarms (CloudTrail) ---
    Mutation("cis-root-inverted", ALARMS, '$.userIdentity.type = "Root" &&', '$.userIdentity.type != "Root" &&', CIS,
             "root-user use filter inverted: every non-root call alarms, root use never does"),
    Mutation("cis-mfa-inverted", ALARMS, '($.additionalEventData.MFAUsed != "Yes")', '($.additionalEventData.MFAUsed = "Yes")', CIS,
             "console sign-in without MFA: counts sign-ins WITH MFA instead"),
    Mutation("cis-mfa-any-user", ALARMS, ' && ($.userIdentity.type = "IAMUser") ', " ", CIS, "MFA filter loses its IAMUser clause"),
    Mutation("cis-unauthorized-drop-accessdenied", ALARMS, ' || ($.errorCode = "AccessDenied*")', "", CIS,
             "unauthorized API calls: AccessDenied no longer counted"),
    Mutation("cis-iam-drop-attach-role-policy", ALARMS, "($.eventName=AttachRolePolicy) || ", "", CIS,
             "IAM policy changes: attaching a policy to a role goes unnoticed"),
    Mutation("cis-cloudtrail-drop-stoplogging", ALARMS, "($.eventName = StopLogging) || ", "", CIS, "a stopped trail goes unnoticed"),
    Mutation("cis-kms-wrong-event", ALARMS, "($.eventName = ScheduleKeyDeletion)", "($.eventName = CancelKeyDeletion)", CIS,
             "KMS: deletion scheduling no longer alarms"),
    Mutation("cis-s3-drop-put-policy", ALARMS, "($.eventName = PutBucketPolicy) || ", "", CIS, "bucket policy changes go unnoticed"),
    Mutation("cis-sg-drop-ingress", ALARMS, "{ ($.eventName = AuthorizeSecurityGroupIngress) || ", "{ ", CIS,
             "security group ingress opened without an alarm"),
    Mutation("cis-nacl-drop-entry", ALARMS, "($.eventName = CreateNetworkAclEntry) || ", "", CIS, "network ACL entries added silently"),
    Mutation("cis-alarm-threshold", ALARMS, "threshold=1,", "threshold=5,", CIS, "alarms only after five events"),
    Mutation("cis-alarm-no-action", "constructs/alert_topic.py", "alarm.add_alarm_action(action)", "pass", CIS, "alarms page nobody"),
    # --- HIPAA Config rules, per region ---
    Mutation("hipaa-drop-console-mfa", RULES,
             '        HipaaRule("mfa-enabled-for-iam-console-access", "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", "console users have MFA", periodic=True),\n',
             "", HIPAA, "console-MFA rule removed"),
    Mutation("hipaa-drop-flow-logs", RULES, '        HipaaRule("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", "network evidence", periodic=True),\n',
             "", HIPAA, "flow-log rule removed"),
    Mutation("hipaa-identifier-swapped", RULES, '"s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS"',
             '"s3-default-encryption-kms", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"', HIPAA,
             "rule named KMS checks any server-side encryption"),
    Mutation("hipaa-postgres-port-unblocked", RULES, '"blockedPort5": 5432', '"blockedPort5": 4333', HIPAA,
             "PostgreSQL port open to the world passes restricted-common-ports"),
    Mutation("hipaa-not-periodic", RULES, "TWENTY_FOUR_HOURS if rule.periodic else None", "TWENTY_FOUR_HOURS if False else None", HIPAA,
             "periodic (account-level) rules never run"),
    Mutation("hipaa-dr-drop-manual-deletion", RULES,
             '        HipaaRule("backup-recovery-point-manual-deletion-disabled", "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",\n'
             '                  "DR copies cannot be deleted by hand"),\n',
             "", HIPAA, "DR region: recovery points deletable by hand, unnoticed"),
    Mutation("hipaa-edge-certificate-days", RULES, '{"daysToExpiration": 30}', '{"daysToExpiration": 3}', HIPAA,
             "certificate expiry noticed three days ahead"),
    # --- Macie quarantine role, audit functions, Config permission ---
    Mutation("quarantine-write-star", "constructs/macie_quarantine.py",
             '"s3:AbortMultipartUpload"],\n                resources=[quarantine_bucket.arn_for_objects("*")],',
             '"s3:AbortMultipartUpload"],\n                resources=["*"],', AUDIT_IAM, "quarantine may write any object anywhere"),
    Mutation("quarantine-source-any-account", "constructs/macie_quarantine.py",
             'resources=[f"arn:{stack.partition}:s3:::*/*"],\n                conditions={"StringEquals": {"s3:ResourceAccount": stack.account}},',
             'resources=[f"arn:{stack.partition}:s3:::*/*"],', AUDIT_IAM, "quarantine reads and deletes objects of other accounts"),
    Mutation("quarantine-list-any-account", "constructs/macie_quarantine.py",
             'resources=[f"arn:{stack.partition}:s3:::*"],\n                conditions={"StringEquals": {"s3:ResourceAccount": stack.account}},',
             'resources=[f"arn:{stack.partition}:s3:::*"],', AUDIT_IAM, "quarantine lists buckets of other accounts"),
    Mutation("quarantine-may-unlock", "constructs/macie_quarantine.py",
             'actions=["s3:DeleteObject*", "s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:PutObjectLegalHold"],',
             'actions=["s3:DeleteObject*"],', AUDIT_IAM, "quarantine copy may be unlocked by the role"),
    Mutation("publish-star", "constructs/alert_topic.py", 'iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic_arn])',
             'iam.PolicyStatement(actions=["sns:Publish"], resources=["*"])', AUDIT_IAM, "audit functions publish to any topic"),
    Mutation("quarantine-via-service-dropped", "constructs/macie_quarantine.py", 'resources=[data_key.key_arn], conditions={"StringEquals": via_s3})',
             "resources=[data_key.key_arn])", AUDIT_IAM + VIA, "quarantine decrypts with the data key directly"),
    Mutation("quarantine-via-service-wrong", "constructs/macie_quarantine.py", 'via_s3 = {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}',
             'via_s3 = {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}', AUDIT_IAM + VIA, "data key through the wrong service"),
    Mutation("config-permission-any-account", "constructs/phi_bucket_rule.py", "            source_account=stack.account,\n", "", AUDIT_IAM,
             "another account's Config rule may invoke the custom rule (confused deputy)"),
    Mutation("config-permission-any-rule", "constructs/phi_bucket_rule.py", ':config:{stack.region}:{stack.account}:config-rule/*"', ':config:*:*:config-rule/*"', AUDIT_IAM,
             "custom rule invocable from any account's rules"),
    # --- kms:ViaService everywhere ---
    Mutation("key-via-service-dropped", KEY, '                "kms:ViaService": [f"{s}.{stack.region}.amazonaws.com" for s in via_services],\n', "", VIA,
             "keys usable by direct KMS calls"),
    Mutation("key-caller-account-dropped", KEY, '                "kms:CallerAccount": stack.account,\n', "", VIA,
             "keys usable through the services by any account"),
    Mutation("key-grants-not-for-aws-resources", KEY, ', "Bool": {"kms:GrantIsForAWSResource": "true"}', "", VIA,
             "grants for anything, bypassing the named-services rule"),
    Mutation("data-key-extra-service", "stacks/keys_stack.py", 'via_services=["s3", "rds", "elasticache", "secretsmanager", "backup", "sqs"],',
             'via_services=["s3", "rds", "elasticache", "secretsmanager", "backup", "sqs", "lambda"],', VIA, "data key usable through Lambda"),
    Mutation("rotation-via-service-dropped", "constructs/secret_rotation.py",
             '                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},\n', "", VIA,
             "rotation functions decrypt the secret key directly"),
    Mutation("migration-via-service-dropped", "constructs/database_migration.py",
             '                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},\n', "", VIA,
             "migration task decrypts the master secret key directly"),
    Mutation("execution-role-via-service-dropped", "constructs/app_service.py",
             '                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},\n', "", VIA,
             "ECS agent decrypts the Redis token's key directly"),
    # --- production keeps keys and flow logs ---
    Mutation("kms-window-7-days", KEY, "cdk.Duration.days(30 if removal_policy == cdk.RemovalPolicy.RETAIN else 7)", "cdk.Duration.days(7)", RETENTION,
             "production keys deletable after 7 days"),
    Mutation("kms-rotation-off", KEY, "enable_key_rotation=True,", "enable_key_rotation=False,", RETENTION, "no yearly key rotation"),
    Mutation("flow-logs-destroy", "constructs/three_tier_vpc.py", "            removal_policy=removal_policy,\n",
             "            removal_policy=cdk.RemovalPolicy.DESTROY,\n", RETENTION, "production flow logs deleted with the stack"),
    Mutation("flow-logs-unencrypted", "constructs/three_tier_vpc.py", "            encryption_key=logs_key,\n            retention=log_retention,",
             "            retention=log_retention,", RETENTION, "flow logs not under the logs key"),
    # --- configuration floors ---
    Mutation("object-lock-floor-5-years", "stacks/config/data.py", "self.object_lock_days < 7 * 365", "self.object_lock_days < 5 * 365", FLOORS,
             "production PHI lockable for 5 years"),
    Mutation("object-lock-floor-off-by-one", "stacks/config/data.py", "self.object_lock_days < 7 * 365", "self.object_lock_days < 7 * 365 - 1",
             FLOORS, "production PHI lock one day short of the floor accepted"),
    Mutation("object-lock-governance", "stacks/config/data.py", 'is_production and (self.object_lock_mode != "COMPLIANCE" or ',
             "is_production and (", FLOORS, "production PHI lock in GOVERNANCE mode (bypassable)"),
    Mutation("hipaa-six-years-is-five", "stacks/config/audit.py", "HIPAA_RETENTION_DAYS = 6 * 365", "HIPAA_RETENTION_DAYS = 5 * 365", FLOORS,
             "evidence kept five years"),
    Mutation("trail-lock-floor", "stacks/config/audit.py", "self.trail_lock_days < HIPAA_RETENTION_DAYS", "self.trail_lock_days < HIPAA_RETENTION_DAYS - 1",
             FLOORS, "trail lock one day short accepted"),
    Mutation("quarantine-governance", "stacks/config/audit.py", 'if self.quarantine_lock_mode != "COMPLIANCE":', "if False:", FLOORS,
             "production quarantine in GOVERNANCE mode"),
    Mutation("evidence-floor", "stacks/config/evidence.py", "days < HIPAA_RETENTION_DAYS:", "days < HIPAA_RETENTION_DAYS - 1:", FLOORS,
             "evidence retention one day short accepted"),
    Mutation("cidr-172-slash-8", "stacks/config/errors.py", 'ipaddress.IPv4Network("172.16.0.0/12")', 'ipaddress.IPv4Network("172.0.0.0/8")', FLOORS,
             "public 172.32.0.0/16 accepted as private"),
    Mutation("cidr-overlap", "stacks/config/errors.py", "network.subnet_of(block)", "network.overlaps(block)", FLOORS,
             "a range that only overlaps a private one accepted"),
    Mutation("cidr-prefix-off-by-one", "stacks/config/errors.py", "min_prefix <= network.prefixlen <= max_prefix:",
             "min_prefix <= network.prefixlen <= max_prefix + 1:", FLOORS, "a /21 VPC accepted"),
    # --- DR readiness thresholds ---
    Mutation("readiness-primary-default", "stacks/config/backup.py", "primary_max_age_hours: int = 26", "primary_max_age_hours: int = 27",
             READINESS_STACK, "a day-old backup plus three hours counts as fresh"),
    Mutation("readiness-copy-below-primary", "stacks/config/backup.py", "if self.copy_max_age_hours < self.primary_max_age_hours:",
             "if self.copy_max_age_hours < self.primary_max_age_hours - 1:", READINESS_STACK, "copy threshold under the primary one accepted"),
    Mutation("readiness-copy-env", "constructs/dr_readiness.py", '"COPY_MAX_AGE_HOURS": str(settings.copy_max_age_hours),',
             '"COPY_MAX_AGE_HOURS": str(settings.copy_max_age_hours + 6),', READINESS_STACK, "deployed copy threshold differs from the config"),
    Mutation("readiness-primary-le", "lambda/mv_dr_readiness/logic.py", "primary_age < primary_max_age / hours",
             "primary_age <= primary_max_age / hours", READINESS_LOGIC, "a 26 h old recovery point counts as fresh", "handlers"),
    Mutation("readiness-copy-le", "lambda/mv_dr_readiness/logic.py", "copy_age < copy_max_age / hours", "copy_age <= copy_max_age / hours",
             READINESS_LOGIC, "a 30 h old copy counts as fresh", "handlers"),
    # --- TLS of the service's clients ---
    Mutation("redis-tls-1-0", "service/medivault_service/cache.py", "ssl_min_version=ssl.TLSVersion.TLSv1_2,", "ssl_min_version=ssl.TLSVersion.TLSv1,",
             REDIS_TLS, "Redis client accepts TLS 1.0"),
    Mutation("redis-no-certificate", "service/medivault_service/cache.py", 'ssl_cert_reqs="required",', 'ssl_cert_reqs="none",', REDIS_TLS,
             "Redis server certificate not verified"),
    Mutation("redis-no-hostname", "service/medivault_service/cache.py", "ssl_check_hostname=True,", "ssl_check_hostname=False,", REDIS_TLS,
             "Redis host name not checked"),
    Mutation("db-tls-1-0", "service/medivault_service/database.py", "context.minimum_version = ssl.TLSVersion.TLSv1_2",
             "context.minimum_version = ssl.TLSVersion.TLSv1", DB_TLS, "database client accepts TLS 1.0"),
    # --- secrets in logs (service) ---
    Mutation("service-logs-redis-token", "service/medivault_service/readiness.py",
             'log.error("cache check failed", extra={"check": "cache", "error": type(error).__name__, "detail": str(error)[:200]})',
             'log.error("cache check failed", extra={"check": "cache", "error": type(error).__name__, "detail": str(error)[:200], '
             '"auth": self.settings.redis_auth_token})', SERVICE_LOGS, "Redis AUTH token written to the log on a failed check"),
    Mutation("service-logs-settings-at-start", "service/medivault_service/api.py",
             'log.info("started", extra={"redis_host": resolved.redis_host, "db_host": resolved.db_host, "db_user": resolved.db_user})',
             'log.info("started", extra={"settings": resolved})', SERVICE_LOGS, "every setting, the AUTH token included, logged at start-up"),
    Mutation("service-logs-db-token", "service/medivault_service/readiness.py",
             "await check_database(self.endpoint, token, self._db_tls, self.settings.connect_timeout_seconds)",
             'log.debug("login", extra={"token": token})\n                await check_database(self.endpoint, token, self._db_tls, '
             "self.settings.connect_timeout_seconds)", SERVICE_LOGS, "the IAM database token logged at DEBUG"),
    Mutation("migration-logs-master-password", "service/medivault_service/migrate.py",
             'log.warning("master login refused; the secret may be rotating", extra={"version_stage": stage})',
             'log.warning("master login refused; the secret may be rotating", extra={"version_stage": stage, "tried": credentials.password})',
             SERVICE_LOGS, "the master password logged when a login is refused"),
    # --- handlers (lambda/*, the handlers area) ---
    Mutation("notifier-any-error-is-duplicate", "lambda/mv_findings_notifier/dal.py", "                return False\n            raise\n",
             "                return False\n            return False\n", NOTIFIER, "throttling or a key-policy error drops findings as duplicates",
             "handlers"),
    Mutation("quarantine-access-denied-is-missing", "lambda/mv_macie_quarantine/dal.py", '("404", "NoSuchKey", "NoSuchVersion", "NotFound")',
             '("404", "403", "AccessDenied", "NoSuchKey", "NoSuchVersion", "NotFound")', QUARANTINE,
             "AccessDenied on HeadObject read as object missing", "handlers"),
    Mutation("phi-rule-deleted-evaluated", "lambda/mv_phi_bucket_rule/logic.py", 'GONE = ("ResourceDeleted", ', "GONE = (", PHI_RULE,
             "a deleted bucket's stale configuration is evaluated", "handlers"),
    Mutation("rotation-logs-secret", "lambda/mv_secret_rotation/handler.py", "    logger.info(summary)\n",
             '    logger.info(summary, extra={"current": dal.SecretsManagerStore(client("secretsmanager")).value(rotation.secret_id, stage="AWSCURRENT")})\n',
             ROTATION, "the rotated secret's current value logged", "handlers"),
)  # fmt: skip
