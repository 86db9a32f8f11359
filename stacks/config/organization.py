"""The organisation's management account (R3, R1): OUs, SCP targets, IAM Identity Center.

Separate from the per-environment configs: this is the optional ``Organization`` stage, deployed
into the management account only when asked. Every ID here is a documented review placeholder
(docs/identity.md) until the real one is configured; a deploy with any placeholder left is refused
by a CloudFormation rule before anything is created (``OrganizationConfig.placeholders``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs.data_classification import PHI_TAG_KEY, PHI_TAG_VALUE

from stacks.config.environment import DR_REGION, PLACEHOLDER_ACCOUNTS, PRIMARY_REGION
from stacks.config.errors import ConfigError, require_account, require_one_of
from stacks.config.pipeline import DELIVERY_ROLE_PATH

PLACEHOLDER_MANAGEMENT_ACCOUNT = "333333333333"
PLACEHOLDER_SECURITY_ACCOUNT = "444444444444"
PLACEHOLDER_ROOT_ID = "r-0000"
PLACEHOLDER_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-0000000000000000"
# Identity store group IDs are UUIDs; the all-zero family is never issued.
PLACEHOLDER_GROUP_PREFIX = "00000000-0000-0000-0000-"

# Identity Center stores people's names and e-mail addresses (personal data): EU home region only.
IDENTITY_CENTER_REGIONS = (PRIMARY_REGION, DR_REGION)
OU_KEYS = ("security", "production", "sandbox")
PERMISSION_SETS = ("read_only", "developer", "phi_data_access", "security_audit", "break_glass_admin")
SCPS = (
    "deny_leaving_organization",
    "deny_root_user",
    "deny_iam_users_and_keys",
    "deny_outside_eu_regions",
    "protect_security_services",
    "protect_phi_storage",
    "protect_privileged_roles",
)
ROOT_TARGET = "root"
# AWS Organizations: at most 5 SCPs attached directly to one root, OU or account, and FullAWSAccess
# (which must stay attached unless replaced by an allow list) takes one of them.
MAX_CUSTOM_SCPS_PER_TARGET = 4

_ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
_INSTANCE_ARN = re.compile(r"^arn:aws:sso:::instance/ssoins-[a-zA-Z0-9-.]{16}$")
_GROUP_ID = re.compile(r"^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")
_ROLE_PATH = re.compile(r"^/(?:[\w+=,.@-]+/)+$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_OU_NAME = re.compile(r"^[\w .+=,@-]{1,128}$")
_BUCKET_PATTERN = re.compile(r"^[a-z0-9.*-]{1,63}$")


def iso_duration_minutes(key: str, value: str) -> int:
    """Minutes of an ISO-8601 duration of hours/minutes (``PT1H``, ``PT1H30M``)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ConfigError(key, f"{value!r} is not an ISO-8601 duration", "PT<hours>H and/or <minutes>M, e.g. PT1H, PT4H, PT1H30M")
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


@dataclass(frozen=True, kw_only=True)
class OrganizationalUnitConfig:
    name: str
    # Existing member accounts that belong in this OU (moved there once, see docs/identity.md).
    account_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AssignmentConfig:
    """One Identity Center group gets one permission set in every account of the listed OUs."""

    permission_set: str
    group_id: str
    organizational_units: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OrganizationConfig:
    management_account: str | None
    # IAM Identity Center home region (where the instance, permission sets and assignments live).
    identity_center_region: str = PRIMARY_REGION
    instance_arn: str = PLACEHOLDER_INSTANCE_ARN
    root_id: str = PLACEHOLDER_ROOT_ID
    organizational_units: dict[str, OrganizationalUnitConfig]
    # SCP key -> targets ("root" or an OU key). Root-level SCPs reach every member account.
    scp_targets: dict[str, tuple[str, ...]]
    # Permission set key -> ISO-8601 session duration (Identity Center allows PT1H to PT12H).
    session_durations: dict[str, str]
    assignments: tuple[AssignmentConfig, ...]
    # The break-glass IAM role in each member account (for when Identity Center is unavailable);
    # it and the break-glass permission set's role are exempt from the restrictive SCPs.
    break_glass_role_path: str = "/medivault-break-glass/"
    break_glass_role_name: str = "MediVaultBreakGlass"
    # IAM path of the delivery pipeline's own roles (stacks/config/pipeline.py DELIVERY_ROLE_PATH):
    # they copy artifacts to the us-east-1 replication bucket, so the region SCP exempts them there.
    delivery_role_path: str = DELIVERY_ROLE_PATH
    # IAM path of the workload roles through which PHI may be read (phi_data_access assumes them).
    phi_access_role_path: str = "/medivault-phi-access/"
    # Bucket-name patterns (IAM wildcards) of PHI buckets, for the statements that cannot rely on
    # the data-class=phi tag (S3 evaluates aws:ResourceTag only on buckets with ABAC enabled).
    # CloudFormation names the data stack's PHI buckets <stack>-<logical id>-<suffix>, lower-cased
    # (e.g. production-data-recordsbucket600c9c86-...); "*phi*" catches explicitly named ones.
    phi_bucket_name_patterns: tuple[str, ...] = ("*-data-recordsbucket*", "*-data-imagingbucket*", "*phi*")
    # Key of the data-classification tag on PHI buckets, secrets and keys, and its PHI value.
    phi_tag_key: str = PHI_TAG_KEY
    phi_tag_value: str = PHI_TAG_VALUE
    # Production log groups a developer may read (the workload's service and function logs; names
    # CloudFormation generates: <stack>-<logical id>-<suffix>), and the evidence log groups nobody but
    # security audit and break-glass reads (CloudTrail data events, WAF logs with client IPs, VPC flow
    # logs, the database's audit log). Renaming those constructs must update these patterns.
    developer_log_group_patterns: tuple[str, ...] = (
        "*-App-ServiceLogs*",
        "*-Audit-PhiBucketRuleLogs*",
        "*-Audit-FindingsNotifierLogs*",
        "*-Audit-MacieQuarantineLogs*",
        "*-Backup-ReadinessLogs*",
        "*-Data-MacieJobFunctionLogs*",
    )
    evidence_log_group_patterns: tuple[str, ...] = ("*TrailLogs*", "aws-waf-logs-*", "*FlowLogs*", "/aws/rds/*", "*-Data-Cache*")
    # Aliases of the customer-managed keys that encrypt PHI (stacks/keys_stack.py).
    phi_key_alias_pattern: str = "alias/medivault/*/data"

    def __post_init__(self) -> None:
        require_account("organization.management_account", self.management_account)
        require_one_of("organization.identity_center_region", self.identity_center_region, IDENTITY_CENTER_REGIONS)
        if not _INSTANCE_ARN.match(self.instance_arn):
            raise ConfigError(
                "organization.instance_arn",
                f"{self.instance_arn!r} is not an Identity Center instance ARN",
                "arn:aws:sso:::instance/ssoins-<16 characters>",
            )
        if not _ROOT_ID.match(self.root_id):
            raise ConfigError(
                "organization.root_id", f"{self.root_id!r} is not an organization root ID", "r- followed by 4-32 lower-case letters or digits"
            )
        self._validate_units()
        self._validate_scp_targets()
        self._validate_sessions()
        self._validate_assignments()
        if not _ROLE_PATH.match(self.break_glass_role_path):
            raise ConfigError(
                "organization.break_glass_role_path", f"{self.break_glass_role_path!r} is not an IAM path", "/name/ (starts and ends with /)"
            )
        if not _ROLE_NAME.match(self.break_glass_role_name):
            raise ConfigError(
                "organization.break_glass_role_name", f"{self.break_glass_role_name!r} is not an IAM role name", "1-64 of letters, digits, +=,.@_-"
            )
        if not _ROLE_PATH.match(self.delivery_role_path) or self.delivery_role_path == "/":
            raise ConfigError(
                "organization.delivery_role_path", f"{self.delivery_role_path!r} is not a dedicated IAM path", "/name/ (not the root path /)"
            )
        if not _ROLE_PATH.match(self.phi_access_role_path) or self.phi_access_role_path == "/":
            raise ConfigError(
                "organization.phi_access_role_path", f"{self.phi_access_role_path!r} is not a dedicated IAM path", "/name/ (not the root path /)"
            )
        for pattern in self.phi_bucket_name_patterns:
            if not _BUCKET_PATTERN.match(pattern) or pattern.strip("*") == "":
                raise ConfigError(
                    "organization.phi_bucket_name_patterns",
                    f"{pattern!r} is not a bucket-name pattern",
                    "lower-case name characters with * wildcards, not only *",
                )
        if not self.phi_bucket_name_patterns:
            raise ConfigError("organization.phi_bucket_name_patterns", "no pattern given", "at least one pattern, e.g. *phi*")

    def _validate_units(self) -> None:
        if set(self.organizational_units) != set(OU_KEYS):
            raise ConfigError(
                "organization.organizational_units", f"{sorted(self.organizational_units)} are not the required OUs", ", ".join(OU_KEYS)
            )
        seen: dict[str, str] = {}
        names = [ou.name for ou in self.organizational_units.values()]
        if len(set(names)) != len(names):
            raise ConfigError("organization.organizational_units", f"OU names {names} are not unique", "three distinct names")
        for key, ou in self.organizational_units.items():
            if not _OU_NAME.match(ou.name):
                raise ConfigError(
                    f"organization.organizational_units.{key}.name", f"{ou.name!r} is not an OU name", "1-128 letters, digits, spaces, .+=,@_-"
                )
            if not ou.account_ids:
                raise ConfigError(f"organization.organizational_units.{key}.account_ids", "no account given", "at least one 12-digit account ID")
            for account in ou.account_ids:
                require_account(f"organization.organizational_units.{key}.account_ids", account)
                if account == self.management_account:
                    raise ConfigError(
                        f"organization.organizational_units.{key}.account_ids",
                        f"{account} is the management account",
                        "member accounts only (SCPs never apply to the management account)",
                    )
                if account in seen:
                    raise ConfigError(
                        f"organization.organizational_units.{key}.account_ids", f"{account} is also in OU {seen[account]}", "each account in one OU"
                    )
                seen[account] = key

    def _validate_scp_targets(self) -> None:
        require_scps = set(SCPS) - set(self.scp_targets)
        if require_scps:
            raise ConfigError("organization.scp_targets", f"no target for {sorted(require_scps)}", "a target list for each of " + ", ".join(SCPS))
        per_target: dict[str, int] = {}
        for scp, targets in self.scp_targets.items():
            require_one_of("organization.scp_targets", scp, SCPS)
            if not targets:
                raise ConfigError(f"organization.scp_targets.{scp}", "attached nowhere", f"one or more of {ROOT_TARGET}, " + ", ".join(OU_KEYS))
            for target in targets:
                require_one_of(f"organization.scp_targets.{scp}", target, (ROOT_TARGET, *OU_KEYS))
                per_target[target] = per_target.get(target, 0) + 1
        for target, count in per_target.items():
            if count > MAX_CUSTOM_SCPS_PER_TARGET:
                raise ConfigError(
                    "organization.scp_targets",
                    f"{count} SCPs attached to {target}",
                    f"at most {MAX_CUSTOM_SCPS_PER_TARGET} per root/OU (AWS allows 5, FullAWSAccess takes one)",
                )

    def _validate_sessions(self) -> None:
        if set(self.session_durations) != set(PERMISSION_SETS):
            raise ConfigError(
                "organization.session_durations", f"{sorted(self.session_durations)} do not name every permission set", ", ".join(PERMISSION_SETS)
            )
        for key, value in self.session_durations.items():
            minutes = iso_duration_minutes(f"organization.session_durations.{key}", value)
            if not 60 <= minutes <= 12 * 60:
                raise ConfigError(f"organization.session_durations.{key}", f"{value} is out of range", "PT1H to PT12H (IAM Identity Center limits)")
            if key in ("phi_data_access", "break_glass_admin") and minutes > 60:
                raise ConfigError(
                    f"organization.session_durations.{key}", f"{value} is too long for {key}", "PT1H (short sessions for PHI and break-glass access)"
                )

    def _validate_assignments(self) -> None:
        if not self.assignments:
            raise ConfigError("organization.assignments", "no assignment given", "at least one group-to-OU assignment")
        for index, assignment in enumerate(self.assignments):
            key = f"organization.assignments[{index}]"
            require_one_of(f"{key}.permission_set", assignment.permission_set, PERMISSION_SETS)
            if not _GROUP_ID.match(assignment.group_id):
                raise ConfigError(
                    f"{key}.group_id", f"{assignment.group_id!r} is not an identity store group ID", "a UUID such as 0a1b2c3d4e-0a1b2c3d-..."
                )
            if not assignment.organizational_units:
                raise ConfigError(f"{key}.organizational_units", "no OU given", ", ".join(OU_KEYS))
            for ou in assignment.organizational_units:
                require_one_of(f"{key}.organizational_units", ou, OU_KEYS)

    @property
    def is_env_agnostic(self) -> bool:
        return self.management_account is None

    def accounts_of(self, ou_keys: tuple[str, ...]) -> list[str]:
        """The member accounts of these OUs, in config order, without duplicates."""
        accounts: list[str] = []
        for key in ou_keys:
            accounts.extend(a for a in self.organizational_units[key].account_ids if a not in accounts)
        return accounts

    def placeholders(self) -> list[str]:
        """The config keys still holding review placeholders (a deploy is refused while any is left)."""
        left: list[str] = []
        if self.management_account in (None, PLACEHOLDER_MANAGEMENT_ACCOUNT):
            left.append("organization.management_account")
        if self.instance_arn == PLACEHOLDER_INSTANCE_ARN:
            left.append("organization.instance_arn")
        if self.root_id == PLACEHOLDER_ROOT_ID:
            left.append("organization.root_id")
        placeholder_accounts = {PLACEHOLDER_SECURITY_ACCOUNT, *PLACEHOLDER_ACCOUNTS.values()}
        for key, ou in self.organizational_units.items():
            if placeholder_accounts & set(ou.account_ids):
                left.append(f"organization.organizational_units.{key}.account_ids")
        for index, assignment in enumerate(self.assignments):
            if assignment.group_id.startswith(PLACEHOLDER_GROUP_PREFIX):
                left.append(f"organization.assignments[{index}].group_id")
        return left


def _placeholder_group(number: int) -> str:
    return f"{PLACEHOLDER_GROUP_PREFIX}{number:012d}"


DEFAULT_SCP_TARGETS: dict[str, tuple[str, ...]] = {
    # Everyone, every member account: attached to the root (4 custom SCPs, the maximum there).
    "deny_leaving_organization": (ROOT_TARGET,),
    "deny_root_user": (ROOT_TARGET,),
    "deny_iam_users_and_keys": (ROOT_TARGET,),
    "deny_outside_eu_regions": (ROOT_TARGET,),
    # Not the sandbox OU: `make destroy-sandbox` deletes the sandbox's trail, recorder and buckets.
    "protect_security_services": ("security", "production"),
    "protect_phi_storage": ("production",),
    # Every OU: the break-glass, CDK bootstrap and delivery roles are exempt from the region SCP
    # everywhere, so they are protected everywhere (the root already holds four SCPs).
    "protect_privileged_roles": ("security", "production", "sandbox"),
}

DEFAULT_SESSION_DURATIONS: dict[str, str] = {
    "read_only": "PT4H",
    "developer": "PT4H",
    "phi_data_access": "PT1H",
    "security_audit": "PT4H",
    "break_glass_admin": "PT1H",
}


def organization(
    account: str | None = PLACEHOLDER_MANAGEMENT_ACCOUNT,
    *,
    sandbox_account: str | None = None,
    production_account: str | None = None,
) -> OrganizationConfig:
    """The shipped organisation config: environment accounts default to their review placeholders."""
    return OrganizationConfig(
        management_account=account,
        organizational_units={
            "security": OrganizationalUnitConfig(name="Security", account_ids=(PLACEHOLDER_SECURITY_ACCOUNT,)),
            "production": OrganizationalUnitConfig(
                name="Workloads-Production", account_ids=(production_account or PLACEHOLDER_ACCOUNTS["production"],)
            ),
            "sandbox": OrganizationalUnitConfig(name="Workloads-Sandbox", account_ids=(sandbox_account or PLACEHOLDER_ACCOUNTS["sandbox"],)),
        },
        scp_targets=dict(DEFAULT_SCP_TARGETS),
        session_durations=dict(DEFAULT_SESSION_DURATIONS),
        assignments=(
            AssignmentConfig(permission_set="read_only", group_id=_placeholder_group(1), organizational_units=("production", "sandbox")),
            AssignmentConfig(permission_set="developer", group_id=_placeholder_group(2), organizational_units=("production", "sandbox")),
            AssignmentConfig(permission_set="phi_data_access", group_id=_placeholder_group(3), organizational_units=("production",)),
            AssignmentConfig(
                permission_set="security_audit", group_id=_placeholder_group(4), organizational_units=("security", "production", "sandbox")
            ),
            AssignmentConfig(
                permission_set="break_glass_admin", group_id=_placeholder_group(5), organizational_units=("security", "production", "sandbox")
            ),
        ),
    )
