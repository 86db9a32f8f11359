"""The typed, frozen configuration of one MediVault environment, assembled from its sections."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from stacks.config import app, audit, backup, data, edge, evidence, identity, network, observability
from stacks.config import domain as domain_cfg
from stacks.config.app import AppConfig
from stacks.config.audit import AuditConfig
from stacks.config.backup import BackupConfig
from stacks.config.data import DataConfig
from stacks.config.domain import RESERVED_SUFFIXES, DomainConfig
from stacks.config.edge import EdgeConfig
from stacks.config.errors import ConfigError, require_account, require_email, require_log_retention, require_one_of, require_range
from stacks.config.evidence import EvidenceConfig
from stacks.config.identity import IdentityConfig
from stacks.config.network import NetworkConfig
from stacks.config.observability import ObservabilityConfig

ENVIRONMENT_NAMES = ("sandbox", "production")
PRIMARY_REGION = "eu-central-1"  # R1: Frankfurt, three AZs
DR_REGION = "eu-west-1"  # R1/R15: Ireland, backup copies only
EDGE_REGION = "us-east-1"  # only what CloudFront forces there (WAF web ACL, certificate)

# Documented review placeholders (docs/assumptions.md). They are never real accounts; a deploy
# passes the real one with `-c sandbox_account=...` or MEDIVAULT_SANDBOX_ACCOUNT (see app.py).
PLACEHOLDER_ACCOUNTS = {"sandbox": "111111111111", "production": "222222222222"}

# One-per-account-per-region resources the Audit stack creates unless told to use the account's own
# (an existing security baseline, e.g. Control Tower). (AuditConfig field, context key, what it is.)
# The fields are stacks/config/audit.py's BASELINE_SWITCHES (a test keeps the two lists equal).
ACCOUNT_SINGLETONS: tuple[tuple[str, str, str], ...] = (
    ("use_existing_config_recorder", "existing_config_recorder", "AWS Config configuration recorder and delivery channel"),
    ("use_existing_guardduty_detector", "existing_guardduty_detector", "GuardDuty detector"),
    ("use_existing_macie_session", "existing_macie_session", "Macie session"),
)


def creates_singleton(config: EnvironmentConfig, field: str) -> bool:
    """Whether the stage creates this one-per-account-per-region resource itself."""
    return not bool(getattr(config.audit, field))


def require_separate_singletons(configs: list[EnvironmentConfig]) -> None:
    """Two stages in one account may not both create a one-per-account-per-region resource.

    AWS Config allows one configuration recorder and one delivery channel per account and region,
    GuardDuty one detector, Macie one session: the second stage's Audit stack would fail to create
    them (the first error names the switch that would avoid that one). Even with every switch, the
    two stages' Config rules carry the same names (one name per account and region), so a shared
    account is refused: one account per stage (tests/deploy/test_limits.py shows the clash).
    """
    by_account: dict[str, list[EnvironmentConfig]] = {}
    for config in configs:
        if config.account is not None:
            by_account.setdefault(config.account, []).append(config)
    for account, sharing in by_account.items():
        if len(sharing) < 2:
            continue
        names = " and ".join(c.name for c in sharing)
        for field, key, what in ACCOUNT_SINGLETONS:
            creators = [c.name for c in sharing if creates_singleton(c, field)]
            if len(creators) > 1:
                raise ConfigError(
                    key,
                    f"{names} share account {account} and both would create its {what} (one per account and region)",
                    f"separate accounts, or {key}=true for one of them (-c {sharing[-1].name}_{key}=true)",
                )
        raise ConfigError(
            f"{sharing[0].name}_account",
            f"{names} share account {account}: their Config rules have the same names (one per account and region)",
            "a separate account per stage",
        )


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str
    # None = env-agnostic synth (tests); otherwise the 12-digit account the stage deploys to.
    account: str | None
    primary_region: str = PRIMARY_REGION
    dr_region: str = DR_REGION
    edge_region: str = EDGE_REGION
    # CloudWatch Logs retention for operational logs (flow logs, service logs).
    log_retention_days: int
    # True: stateful resources (keys, buckets, database, vaults, audit logs) are RETAINED on stack
    # deletion and stateful stacks get termination protection. False: a sandbox that tears down.
    retain_stateful: bool
    alarm_email: str
    domain: DomainConfig | None = None
    # Version of AWS's public Powertools for AWS Lambda (Python) v3 layer (python3.14, arm64).
    powertools_layer_version: int = 27
    network: NetworkConfig
    data: DataConfig
    backup: BackupConfig
    edge: EdgeConfig
    audit: AuditConfig
    evidence: EvidenceConfig
    observability: ObservabilityConfig
    app: AppConfig
    identity: IdentityConfig

    def __post_init__(self) -> None:
        require_one_of("environment", self.name, ENVIRONMENT_NAMES)
        require_account(f"{self.name}.account", self.account)
        require_one_of("primary_region", self.primary_region, (PRIMARY_REGION,))
        require_one_of("dr_region", self.dr_region, (DR_REGION,))
        require_one_of("edge_region", self.edge_region, (EDGE_REGION,))
        require_log_retention("log_retention_days", self.log_retention_days)
        require_range("powertools_layer_version", self.powertools_layer_version, 1, 1000)
        if self.is_production and not self.retain_stateful:
            raise ConfigError("retain_stateful", "production must retain stateful resources", "True in production")
        if self.is_production and self.log_retention_days < 365:
            raise ConfigError("log_retention_days", f"{self.log_retention_days} is below one year in production", "365 or more in production")
        require_email("alarm_email", self.alarm_email)
        if self.domain is not None:
            self.domain.validate()
        elif self.is_production:
            raise ConfigError("domain", "production has no domain", "a DomainConfig (CloudFront needs its own certificate for TLSv1.2_2021)")
        self.network.validate(self.primary_region)
        self.data.validate(self.is_production)
        self.backup.validate(self.is_production)
        if self.backup.continuous_retention_days != self.data.aurora_backup_retention_days:
            raise ConfigError(
                "backup.continuous_retention_days",
                f"{self.backup.continuous_retention_days} differs from data.aurora_backup_retention_days "
                f"({self.data.aurora_backup_retention_days}); AWS Backup would reset Aurora's retention and the stack would drift",
                "equal to data.aurora_backup_retention_days",
            )
        self.edge.validate()
        self.audit.validate(self.is_production)
        # The quarantine bucket is PHI-tagged: the PHI bucket Config rule holds it to the PHI lock.
        if self.audit.quarantine_lock_mode != self.data.object_lock_mode or self.audit.quarantine_lock_days < self.data.object_lock_days:
            raise ConfigError(
                "audit.quarantine_lock_mode/quarantine_lock_days",
                f"{self.audit.quarantine_lock_mode} for {self.audit.quarantine_lock_days} days is weaker than the PHI buckets' "
                f"{self.data.object_lock_mode} for {self.data.object_lock_days} days",
                "the data.object_lock_mode and at least data.object_lock_days (quarantined objects are PHI)",
            )
        self.evidence.validate(self.is_production)
        self.observability.validate()
        self.app.validate(self.is_production)
        self.identity.validate(self.is_production)

    def placeholders(self) -> list[tuple[str, str]]:
        """What is still a review placeholder, as (setting, problem): a deploy must set each of these.

        Settings are the names app.py reads (``<stage>_<setting>`` context keys, MEDIVAULT_* variables).
        """
        found: list[tuple[str, str]] = []
        if self.account is None or self.account in PLACEHOLDER_ACCOUNTS.values():
            found.append(("account", f"{self.account or 'no account'} is a review placeholder"))
        if self.domain is None:
            found.append(("domain", "no domain: CloudFront would serve *.cloudfront.net (TLSv1) and could not verify the ALB's certificate"))
        elif self.domain.is_placeholder:
            found.append(("domain", f"{self.domain.domain_name} in zone {self.domain.hosted_zone_id} is the review placeholder domain"))
        for setting, email in (("alarm_email", self.alarm_email), ("security_email", self.audit.security_email)):
            if email.lower().endswith(RESERVED_SUFFIXES):
                found.append((setting, f"{email} is a reserved example address nobody receives"))
        if not self.app.tracing_sidecar_digest:
            found.append(("tracing_sidecar_digest", f"no digest pins {self.app.tracing_sidecar_image} (the App stack would refuse the deploy)"))
        return found

    @property
    def is_production(self) -> bool:
        return self.name == "production"

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        """For stateful resources: RETAIN in production, DESTROY in a tear-down-able sandbox."""
        return cdk.RemovalPolicy.RETAIN if self.retain_stateful else cdk.RemovalPolicy.DESTROY

    @property
    def stage_name(self) -> str:
        return self.name.capitalize()


def sandbox(account: str | None = PLACEHOLDER_ACCOUNTS["sandbox"]) -> EnvironmentConfig:
    """Cheap and destroyable: one NAT gateway, short retention, GOVERNANCE-mode locks."""
    return EnvironmentConfig(
        name="sandbox",
        account=account,
        log_retention_days=30,
        retain_stateful=False,
        alarm_email="ops-sandbox@medivault.example",
        network=network.SANDBOX,
        data=data.SANDBOX,
        backup=backup.SANDBOX,
        edge=edge.SANDBOX,
        audit=audit.SANDBOX,
        evidence=evidence.SANDBOX,
        observability=observability.SANDBOX,
        app=app.SANDBOX,
        identity=identity.SANDBOX,
    )


def production(account: str | None = PLACEHOLDER_ACCOUNTS["production"]) -> EnvironmentConfig:
    """Everything retained and locked; one NAT gateway (only the DR-readiness check may use it)."""
    return EnvironmentConfig(
        name="production",
        account=account,
        log_retention_days=731,
        retain_stateful=True,
        alarm_email="ops@medivault.example",
        # Production always has a domain; the review carries the documented placeholder (guarded).
        domain=domain_cfg.PLACEHOLDER,
        network=network.PRODUCTION,
        data=data.PRODUCTION,
        backup=backup.PRODUCTION,
        edge=edge.PRODUCTION,
        audit=audit.PRODUCTION,
        evidence=evidence.PRODUCTION,
        observability=observability.PRODUCTION,
        app=app.PRODUCTION,
        identity=identity.PRODUCTION,
    )


def load(name: str, account: str | None) -> EnvironmentConfig:
    """The configuration of one named environment; an unknown name is a ConfigError."""
    require_one_of("environments", name, ENVIRONMENT_NAMES)
    return sandbox(account) if name == "sandbox" else production(account)
