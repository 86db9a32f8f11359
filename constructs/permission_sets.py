"""IAM Identity Center permission sets and group-to-account assignments (R3).

People never get IAM users: they sign in to IAM Identity Center and receive a permission set's
temporary role in an account. Each permission set is built here as Python data (``permission_set_
specs``), so its managed policies, inline policy and session length can be asserted directly, then
turned into ``AWS::SSO::PermissionSet`` and one ``AWS::SSO::Assignment`` per group and account.

PHI is kept away from every permission set but break-glass by explicit Deny statements, so a later,
broader Allow (a managed policy AWS extends, a statement added in a hurry) cannot open it:
- the PHI key: ``kms:Decrypt``/``GenerateDataKey`` on keys whose alias matches the data-key alias
  (``kms:ResourceAliases``). Every PHI object (SSE-KMS), secret and snapshot copy needs that key,
  so this one statement blocks S3 GetObject/PutObject on PHI whatever the bucket is called;
- S3 object actions on buckets named like PHI buckets (works everywhere, by name);
- S3 object actions on buckets tagged ``data-class=phi`` (``aws:ResourceTag``: S3 evaluates it only
  for buckets with ABAC enabled; elsewhere the key is absent and the statement does not match);
- S3 reads of objects tagged ``data-class=phi`` (``s3:ExistingObjectTag``: only for objects carrying
  the tag, and not for PutObject, whose object does not exist yet);
- secrets tagged ``data-class=phi`` (Secrets Manager evaluates ``aws:ResourceTag``), direct database
  connections (IAM auth, RDS Data API) and shells into the app containers (ECS Exec, SSM sessions),
  which would read PHI with the app role's rights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_sso as sso
from constructs import Construct

AWS_MANAGED_POLICY = "arn:aws:iam::aws:policy/"
# Lists and describes resources across services, no data reads (ReadOnlyAccess would include
# s3:GetObject, logs:GetLogEvents, dynamodb:GetItem and other data-plane reads).
VIEW_ONLY_ACCESS = AWS_MANAGED_POLICY + "job-function/ViewOnlyAccess"
# AWS keeps it current with every service's configuration-read actions: that is the point of using it.
SECURITY_AUDIT = AWS_MANAGED_POLICY + "SecurityAudit"
# Break-glass must be able to repair anything; its use is the alarm (docs/identity.md).
ADMINISTRATOR_ACCESS = AWS_MANAGED_POLICY + "AdministratorAccess"

PERMISSION_SET_NAMES: dict[str, str] = {
    "read_only": "MediVault-ReadOnly",
    "developer": "MediVault-Developer",
    "phi_data_access": "MediVault-PhiDataAccess",
    "security_audit": "MediVault-SecurityAudit",
    "break_glass_admin": "MediVault-BreakGlassAdmin",
}

S3_OBJECT_ACTIONS: tuple[str, ...] = ("s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:ReplicateObject")
S3_LIST_ACTIONS: tuple[str, ...] = ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListMultipartUploadParts")
KMS_DATA_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant")
DIRECT_DATA_PATHS: tuple[str, ...] = (
    "rds-db:connect",
    "rds-data:*",
    "ecs:ExecuteCommand",
    "ssm:StartSession",
)

# Observability a developer needs without touching records: metrics and traces everywhere.
DEVELOPER_OBSERVE_ACTIONS: tuple[str, ...] = (
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "xray:GetTraceSummaries",
    "xray:BatchGetTraces",
    "xray:GetServiceGraph",
    "xray:GetTraceGraph",
)
# Reading log events: on log groups (resource-level), and the query calls that take no resource.
LOG_READ_ACTIONS: tuple[str, ...] = ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:StartLiveTail", "logs:GetLogRecord")
LOG_QUERY_ACTIONS: tuple[str, ...] = ("logs:StopQuery", "logs:GetQueryResults")


@dataclass(frozen=True, kw_only=True)
class PhiMarkers:
    """How the deny statements recognise PHI (permission sets here, SCPs in service_control_policies)."""

    tag_key: str  # the data-classification tag on PHI buckets, secrets and keys ...
    tag_value: str  # ... and its PHI value
    bucket_name_patterns: tuple[str, ...]  # IAM wildcards naming PHI buckets (aws:ResourceTag needs ABAC on S3)
    key_alias_pattern: str  # alias pattern of the keys that encrypt PHI, e.g. alias/medivault/*/data


@dataclass(frozen=True, kw_only=True)
class BreakGlass:
    """The break-glass IAM role of each member account (for when Identity Center is unavailable)."""

    role_path: str  # an IAM path, /name/
    role_name: str


@dataclass(frozen=True, kw_only=True)
class GroupAssignment:
    """One Identity Center group gets one permission set in each of these accounts."""

    permission_set: str  # a key of PERMISSION_SET_NAMES
    group_id: str
    accounts: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PermissionSetSettings:
    """What the permission sets need; the organisation stack maps ``OrganizationConfig`` (validated there) onto it."""

    instance_arn: str
    production_accounts: tuple[str, ...]
    sandbox_accounts: tuple[str, ...]
    session_durations: Mapping[str, str]  # permission-set key -> ISO-8601 duration
    assignments: tuple[GroupAssignment, ...]
    phi: PhiMarkers
    phi_access_role_path: str  # IAM path of the workload roles through which PHI may be read
    developer_log_group_patterns: tuple[str, ...]  # production log groups a developer may read
    evidence_log_group_patterns: tuple[str, ...]  # production log groups only security audit reads

    def __post_init__(self) -> None:
        if set(self.session_durations) != set(PERMISSION_SET_NAMES):
            raise ValueError(
                f"PermissionSetSettings.session_durations: {sorted(self.session_durations)}; allowed: exactly {', '.join(PERMISSION_SET_NAMES)}"
            )
        for assignment in self.assignments:
            if assignment.permission_set not in PERMISSION_SET_NAMES:
                raise ValueError(f"PermissionSetSettings.assignments: {assignment.permission_set!r}; allowed: {', '.join(PERMISSION_SET_NAMES)}")

    @property
    def phi_accounts(self) -> list[str]:
        """The accounts that hold PHI (production, then sandbox), each once."""
        return list(dict.fromkeys((*self.production_accounts, *self.sandbox_accounts)))


def log_group_arns(accounts: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Log-group ARNs (streams included: the patterns end in ``*``) in these accounts, any region."""
    return [f"arn:aws:logs:*:{account}:log-group:{pattern}" for account in accounts for pattern in patterns]


def sso_role_arn_pattern(permission_set_name: str) -> str:
    """The IAM role Identity Center creates for a permission set in each account (any region path)."""
    return f"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{permission_set_name}_*"


def break_glass_principals(break_glass: BreakGlass) -> list[str]:
    """IAM ARN patterns exempt from the protection SCPs: the break-glass role, the break-glass set."""
    return [
        f"arn:aws:iam::*:role{break_glass.role_path}{break_glass.role_name}",
        sso_role_arn_pattern(PERMISSION_SET_NAMES["break_glass_admin"]),
    ]


def deny_phi_data_plane(phi: PhiMarkers) -> list[dict[str, Any]]:
    """Explicit denies that keep a permission set away from PHI (see the module docstring)."""
    phi_tag = {f"aws:ResourceTag/{phi.tag_key}": phi.tag_value}
    buckets = [f"arn:aws:s3:::{pattern}" for pattern in phi.bucket_name_patterns]
    return [
        {
            "Sid": "DenyPhiKeyUse",
            "Effect": "Deny",
            "Action": list(KMS_DATA_ACTIONS),
            "Resource": "*",
            "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": phi.key_alias_pattern}},
        },
        {"Sid": "DenyPhiObjectsByBucketName", "Effect": "Deny", "Action": list(S3_OBJECT_ACTIONS), "Resource": [f"{b}/*" for b in buckets]},
        {"Sid": "DenyListingPhiBucketsByName", "Effect": "Deny", "Action": list(S3_LIST_ACTIONS), "Resource": buckets},
        {
            "Sid": "DenyPhiObjectsByBucketTag",
            "Effect": "Deny",
            "Action": [*S3_OBJECT_ACTIONS, *S3_LIST_ACTIONS],
            "Resource": "*",
            "Condition": {"StringEquals": phi_tag},
        },
        {
            "Sid": "DenyPhiObjectsByObjectTag",
            "Effect": "Deny",
            "Action": list(S3_OBJECT_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {f"s3:ExistingObjectTag/{phi.tag_key}": phi.tag_value}},
        },
        {
            "Sid": "DenyPhiSecrets",
            "Effect": "Deny",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": "*",
            "Condition": {"StringEquals": phi_tag},
        },
        {"Sid": "DenyDirectDataPaths", "Effect": "Deny", "Action": list(DIRECT_DATA_PATHS), "Resource": "*"},
    ]


def _policy(statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@dataclass(frozen=True)
class PermissionSetSpec:
    key: str
    name: str
    description: str
    session_duration: str
    managed_policies: tuple[str, ...]
    inline_policy: dict[str, Any] | None


def permission_set_specs(settings: PermissionSetSettings) -> dict[str, PermissionSetSpec]:
    """Every permission set as data, keyed by its key (``PERMISSION_SET_NAMES``)."""
    sandbox_accounts = list(settings.sandbox_accounts)
    production_accounts = list(settings.production_accounts)
    # Security evidence and personal data in production logs (CloudTrail data events, WAF logs with
    # client IPs, flow logs, database audit logs): explicitly denied to every set but security audit
    # and break-glass, so no later Allow opens them.
    deny_evidence_logs = {
        "Sid": "DenyProductionEvidenceLogs",
        "Effect": "Deny",
        "Action": list(LOG_READ_ACTIONS),
        "Resource": log_group_arns(production_accounts, settings.evidence_log_group_patterns),
    }
    phi_accounts = settings.phi_accounts
    deny_phi = deny_phi_data_plane(settings.phi)
    durations = settings.session_durations
    specs = [
        PermissionSetSpec(
            "read_only",
            PERMISSION_SET_NAMES["read_only"],
            "List and describe resources; no data reads, no PHI.",
            durations["read_only"],
            (VIEW_ONLY_ACCESS,),
            _policy([*deny_phi, deny_evidence_logs]),
        ),
        PermissionSetSpec(
            "developer",
            PERMISSION_SET_NAMES["developer"],
            "Observe workloads, deploy the sandbox through CDK roles; no PHI data-plane access.",
            durations["developer"],
            (VIEW_ONLY_ACCESS,),
            _policy(
                [
                    {"Sid": "ObserveWorkloads", "Effect": "Allow", "Action": list(DEVELOPER_OBSERVE_ACTIONS), "Resource": "*"},
                    # Logs: every log group of the sandbox; in production only the workload's own
                    # (service and function logs), never the evidence logs (denied below).
                    {
                        "Sid": "ReadWorkloadLogs",
                        "Effect": "Allow",
                        "Action": list(LOG_READ_ACTIONS),
                        "Resource": [
                            *log_group_arns(sandbox_accounts, ["*"]),
                            *log_group_arns(production_accounts, settings.developer_log_group_patterns),
                        ],
                    },
                    {"Sid": "ReadOwnQueryResults", "Effect": "Allow", "Action": list(LOG_QUERY_ACTIONS), "Resource": "*"},
                    {
                        "Sid": "DeploySandboxThroughCdkRoles",
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole"],
                        "Resource": [f"arn:aws:iam::{account}:role/cdk-hnb659fds-*" for account in sandbox_accounts],
                    },
                    *deny_phi,
                    deny_evidence_logs,
                ]
            ),
        ),
        PermissionSetSpec(
            "phi_data_access",
            PERMISSION_SET_NAMES["phi_data_access"],
            "Short session; reads PHI only by assuming the app's PHI-access roles, with a source identity.",
            durations["phi_data_access"],
            (),
            _policy(
                [
                    {
                        "Sid": "AssumePhiAccessRolesWithSourceIdentity",
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                        "Resource": [f"arn:aws:iam::{account}:role{settings.phi_access_role_path}*" for account in phi_accounts],
                        "Condition": {"Null": {"sts:SourceIdentity": "false"}},
                    },
                    *deny_phi,
                    deny_evidence_logs,
                ]
            ),
        ),
        PermissionSetSpec(
            "security_audit",
            PERMISSION_SET_NAMES["security_audit"],
            "Read security configuration of every service; no PHI.",
            durations["security_audit"],
            (SECURITY_AUDIT,),
            _policy(deny_phi),
        ),
        PermissionSetSpec(
            "break_glass_admin",
            PERMISSION_SET_NAMES["break_glass_admin"],
            "Emergency administrator, one-hour sessions; every use is investigated.",
            durations["break_glass_admin"],
            (ADMINISTRATOR_ACCESS,),
            None,
        ),
    ]
    return {spec.key: spec for spec in specs}


class PermissionSets(Construct):
    """The permission sets and their assignments to groups in the given accounts."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: PermissionSetSettings) -> None:
        super().__init__(scope, construct_id)
        self.specs = permission_set_specs(settings)
        self.permission_sets: dict[str, sso.CfnPermissionSet] = {}
        for key, spec in self.specs.items():
            self.permission_sets[key] = sso.CfnPermissionSet(
                self,
                _construct_id(key),
                instance_arn=settings.instance_arn,
                name=spec.name,
                description=spec.description,
                session_duration=spec.session_duration,
                managed_policies=list(spec.managed_policies) or None,
                inline_policy=spec.inline_policy,
            )
        self.assignments: list[sso.CfnAssignment] = []
        for index, assignment in enumerate(settings.assignments):
            permission_set = self.permission_sets[assignment.permission_set]
            for account in assignment.accounts:
                self.assignments.append(
                    sso.CfnAssignment(
                        self,
                        f"{_construct_id(assignment.permission_set)}Group{index}Account{account}",
                        instance_arn=settings.instance_arn,
                        permission_set_arn=permission_set.attr_permission_set_arn,
                        principal_type="GROUP",
                        principal_id=assignment.group_id,
                        target_type="AWS_ACCOUNT",
                        target_id=account,
                    )
                )


def _construct_id(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))
