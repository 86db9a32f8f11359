"""Data-tier settings (R6, R7, R8, R10, R11): PHI buckets, Aurora, the cache, Macie."""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_one_of, require_range

OBJECT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
# Aurora PostgreSQL majors this project supports (CDK 2.275 ships engine versions for both).
AURORA_MAJOR_VERSIONS = ("16", "17")
DATABASE_INSIGHTS_MODES = ("STANDARD", "ADVANCED")
CACHE_ENGINES = ("valkey", "redis")
# Engine versions ElastiCache offers for replication groups with transit encryption "required".
CACHE_ENGINE_VERSIONS = {"valkey": ("7.2", "8.0", "8.1"), "redis": ("7.0", "7.1")}
MACIE_SCHEDULE_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    # COMPLIANCE: nobody, root included, can delete a locked version before it expires (production).
    # GOVERNANCE: a principal with s3:BypassGovernanceRetention can (sandbox, so it can be torn down).
    object_lock_mode: str
    object_lock_days: int
    # Aurora PostgreSQL, pinned: full version and its major (the parameter-group family follows it).
    aurora_engine_version: str = "17.7"
    # Serverless v2 capacity in ACUs (0.5 ACU steps). Low minimum = cheap when idle (cost story).
    aurora_min_acu: float = 0.5
    # Minutes without connections after which a cluster with aurora_min_acu 0 pauses (0 ACU, storage
    # billed only). None = never pauses. Sandbox only: resuming takes about 15 seconds.
    aurora_auto_pause_minutes: int | None = None
    aurora_max_acu: float = 16
    # Automated backups (point-in-time restore window); 35 days is the Aurora maximum.
    aurora_backup_retention_days: int = 35
    # STANDARD: Performance Insights with 7 days free history. ADVANCED: Database Insights with
    # 15 months of history (billed per ACU-hour).
    database_insights_mode: str = "ADVANCED"
    # Enhanced Monitoring interval (OS metrics) in seconds: 1, 5, 10, 15, 30 or 60.
    aurora_monitoring_interval_seconds: int = 60
    # Secrets Manager rotation of the master credentials (R10: every 30 days).
    secret_rotation_days: int = 30
    cache_engine: str = "valkey"
    cache_engine_version: str = "8.0"
    cache_node_type: str = "cache.r7g.large"
    # Read replicas next to the primary; 2 in production = three nodes over three AZs.
    cache_replicas: int = 2
    # HIPAA.Security-ElastiCacheRedisClusterAutomaticBackup asks for at least 15 days.
    cache_snapshot_retention_days: int = 15
    # The weekly Macie sensitive-data discovery job over the non-PHI buckets (R11).
    macie_schedule_day: str = "MONDAY"

    def validate(self, is_production: bool) -> None:
        require_one_of("data.object_lock_mode", self.object_lock_mode, OBJECT_LOCK_MODES)
        require_range("data.object_lock_days", self.object_lock_days, 1, 36500)
        if is_production and (self.object_lock_mode != "COMPLIANCE" or self.object_lock_days < 7 * 365):
            raise ConfigError(
                "data.object_lock_mode/object_lock_days",
                f"production has {self.object_lock_mode} for {self.object_lock_days} days",
                "COMPLIANCE for at least 2555 days (7 years, R7) in production",
            )
        self._validate_aurora(is_production)
        self._validate_cache(is_production)
        require_one_of("data.macie_schedule_day", self.macie_schedule_day, MACIE_SCHEDULE_DAYS)

    def _validate_aurora(self, is_production: bool) -> None:
        major, _, minor = self.aurora_engine_version.partition(".")
        if major not in AURORA_MAJOR_VERSIONS or not minor.isdigit():
            raise ConfigError("data.aurora_engine_version", f"{self.aurora_engine_version!r} is not supported", "16.x or 17.x (e.g. 17.7), pinned")
        require_range("data.aurora_min_acu", self.aurora_min_acu, 0, 256)
        if self.aurora_auto_pause_minutes is not None:
            require_range("data.aurora_auto_pause_minutes", self.aurora_auto_pause_minutes, 5, 1440)
        if (self.aurora_min_acu == 0) != (self.aurora_auto_pause_minutes is not None):
            raise ConfigError(
                "data.aurora_min_acu/aurora_auto_pause_minutes",
                f"min {self.aurora_min_acu} ACU with auto-pause {self.aurora_auto_pause_minutes}",
                "0 ACU together with an auto-pause of 5-1440 minutes, or 0.5+ ACU without one",
            )
        if is_production and self.aurora_min_acu < 0.5:
            raise ConfigError(
                "data.aurora_min_acu", f"{self.aurora_min_acu} in production", "0.5 or more in production (no pause on the patient path)"
            )
        require_range("data.aurora_max_acu", self.aurora_max_acu, 1, 256)
        for key, value in (("data.aurora_min_acu", self.aurora_min_acu), ("data.aurora_max_acu", self.aurora_max_acu)):
            if (value * 2) % 1 != 0:
                raise ConfigError(key, f"{value} is not a multiple of 0.5", "0.5, 1, 1.5, ... ACU")
        if self.aurora_max_acu < self.aurora_min_acu:
            raise ConfigError("data.aurora_max_acu", f"{self.aurora_max_acu} is below aurora_min_acu {self.aurora_min_acu}", "max >= min")
        require_range("data.aurora_backup_retention_days", self.aurora_backup_retention_days, 1, 35)
        if is_production and self.aurora_backup_retention_days < 35:
            raise ConfigError("data.aurora_backup_retention_days", f"{self.aurora_backup_retention_days} days in production", "35 in production")
        require_one_of("data.database_insights_mode", self.database_insights_mode, DATABASE_INSIGHTS_MODES)
        require_one_of("data.aurora_monitoring_interval_seconds", self.aurora_monitoring_interval_seconds, (1, 5, 10, 15, 30, 60))
        require_range("data.secret_rotation_days", self.secret_rotation_days, 1, 30)

    def _validate_cache(self, is_production: bool) -> None:
        require_one_of("data.cache_engine", self.cache_engine, CACHE_ENGINES)
        require_one_of(f"data.cache_engine_version ({self.cache_engine})", self.cache_engine_version, CACHE_ENGINE_VERSIONS[self.cache_engine])
        if not self.cache_node_type.startswith("cache.") or self.cache_node_type.count(".") != 2:
            raise ConfigError("data.cache_node_type", f"{self.cache_node_type!r} is not a node type", "e.g. cache.r7g.large")
        require_range("data.cache_replicas", self.cache_replicas, 0, 5)
        if is_production and self.cache_replicas < 2:
            raise ConfigError("data.cache_replicas", f"{self.cache_replicas} replicas in production", "2 or more (primary + replicas over 3 AZs)")
        require_range("data.cache_snapshot_retention_days", self.cache_snapshot_retention_days, 15, 35)


PRODUCTION = DataConfig(object_lock_mode="COMPLIANCE", object_lock_days=7 * 365)
SANDBOX = DataConfig(
    object_lock_mode="GOVERNANCE",
    object_lock_days=1,
    aurora_min_acu=0,
    aurora_auto_pause_minutes=10,
    aurora_max_acu=2,
    aurora_backup_retention_days=1,
    database_insights_mode="STANDARD",
    cache_node_type="cache.t4g.micro",
    cache_replicas=0,
)
