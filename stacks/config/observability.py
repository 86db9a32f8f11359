"""Observability settings (R13): alarm thresholds, each defensible in one sentence, and X-Ray sampling."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_range


@dataclass(frozen=True, kw_only=True)
class ObservabilityConfig:
    # More than 1 % of requests failing with 5xx for 3 of 5 minutes is an outage for some users.
    alb_5xx_rate_percent: float = 1.0
    # p99 over 2 s for 3 of 5 minutes: record views feel broken (the target is well under 1 s).
    p99_latency_seconds: float = 2.0
    # ECS: sustained 80 % means autoscaling (which acts at 60-70 %) is not keeping up.
    ecs_cpu_percent: float = 80.0
    ecs_memory_percent: float = 80.0
    # Aurora: 80 % CPU sustained precedes latency; ACU at 90 % of the configured maximum means the
    # max_acu cap, not demand, will decide latency next.
    aurora_cpu_percent: float = 80.0
    aurora_acu_percent_of_max: float = 90.0
    # Below 256 MiB freeable memory Aurora starts swapping buffers; reads slow sharply.
    aurora_freeable_memory_mib: int = 256
    # A reader more than 1 s behind serves stale records after a write (and slows failover).
    aurora_replica_lag_ms: int = 1000
    # Redis: 80 % memory leaves room for a failover resync; any eviction means hot data was lost.
    redis_memory_percent: float = 80.0
    redis_evictions_per_5min: int = 1
    # X-Ray: fraction of ordinary requests traced, of auth requests, of health checks (none).
    sampling_default_rate: float = 0.05
    sampling_auth_rate: float = 0.5
    sampling_health_rate: float = 0.0
    # Adaptive sampling: X-Ray may raise the rate up to this when it sees errors/anomalies.
    sampling_boost_max_rate: float = 0.5
    # The X-Ray service name the app's tracer reports (the sampling rules and groups match it): the
    # records service's SERVICE_NAME (service/medivault_service/api.py; tests/stacks/test_observability.py
    # keeps the two equal, or no rule would ever match a request).
    xray_service_name: str = "medivault-app"
    # The records service's sign-in routes (POST /v1/auth/sign-in, /mfa, /refresh): traced at the auth rate.
    auth_paths: tuple[str, ...] = ("/v1/auth/*",)
    health_paths: tuple[str, ...] = ("/healthz", "/readyz")

    def validate(self) -> None:
        require_range("observability.alb_5xx_rate_percent", self.alb_5xx_rate_percent, 0.1, 50)
        require_range("observability.p99_latency_seconds", self.p99_latency_seconds, 0.1, 60)
        for key in ("ecs_cpu_percent", "ecs_memory_percent", "aurora_cpu_percent", "aurora_acu_percent_of_max", "redis_memory_percent"):
            require_range(f"observability.{key}", getattr(self, key), 10, 100)
        require_range("observability.aurora_freeable_memory_mib", self.aurora_freeable_memory_mib, 64, 65536)
        require_range("observability.aurora_replica_lag_ms", self.aurora_replica_lag_ms, 10, 600000)
        require_range("observability.redis_evictions_per_5min", self.redis_evictions_per_5min, 1, 1000000)
        for key in ("sampling_default_rate", "sampling_auth_rate", "sampling_health_rate", "sampling_boost_max_rate"):
            require_range(f"observability.{key}", getattr(self, key), 0, 1)
        if self.sampling_boost_max_rate < self.sampling_default_rate:
            raise ConfigError(
                "observability.sampling_boost_max_rate",
                f"{self.sampling_boost_max_rate} is below the default rate {self.sampling_default_rate}",
                "a rate from sampling_default_rate to 1",
            )
        if not re.fullmatch(r"[A-Za-z0-9._:/=+@-]{1,64}", self.xray_service_name):
            raise ConfigError(
                "observability.xray_service_name", f"{self.xray_service_name!r} is not an X-Ray service name", "1-64 of A-Z a-z 0-9 . _ : / = + @ -"
            )
        for key, paths in (("auth_paths", self.auth_paths), ("health_paths", self.health_paths)):
            if not paths:
                raise ConfigError(f"observability.{key}", "no path given", "one or more URL paths starting with /")
            for path in paths:
                if not path.startswith("/") or len(path) > 128:
                    raise ConfigError(
                        f"observability.{key}",
                        f"{path!r} is not a URL path",
                        "a path starting with / (X-Ray wildcards * and ? allowed), at most 128 characters",
                    )


PRODUCTION = ObservabilityConfig()
# Sandbox: same thresholds (alarms must be testable there), more tracing for debugging.
SANDBOX = ObservabilityConfig(sampling_default_rate=0.2)
