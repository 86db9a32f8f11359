"""Data-tier settings (R6, R7, R8): Object Lock on the PHI buckets, and what the data tier adds."""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_one_of, require_range

OBJECT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    # COMPLIANCE: nobody, root included, can delete a locked version before it expires (production).
    # GOVERNANCE: a principal with s3:BypassGovernanceRetention can (sandbox, so it can be torn down).
    object_lock_mode: str
    object_lock_days: int

    def validate(self, is_production: bool) -> None:
        require_one_of("data.object_lock_mode", self.object_lock_mode, OBJECT_LOCK_MODES)
        require_range("data.object_lock_days", self.object_lock_days, 1, 36500)
        if is_production and (self.object_lock_mode != "COMPLIANCE" or self.object_lock_days < 7 * 365):
            raise ConfigError(
                "data.object_lock_mode/object_lock_days",
                f"production has {self.object_lock_mode} for {self.object_lock_days} days",
                "COMPLIANCE for at least 2555 days (7 years, R7) in production",
            )


PRODUCTION = DataConfig(object_lock_mode="COMPLIANCE", object_lock_days=7 * 365)
SANDBOX = DataConfig(object_lock_mode="GOVERNANCE", object_lock_days=1)
