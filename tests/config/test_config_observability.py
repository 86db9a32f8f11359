"""Observability config: every invalid value fails with the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg

pytestmark = pytest.mark.requirements("R13")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alb_5xx_rate_percent": 0}, r"observability.alb_5xx_rate_percent: 0 is out of range; allowed: a number from 0.1 to 50"),
        ({"ecs_cpu_percent": 120}, r"observability.ecs_cpu_percent: 120 is out of range"),
        ({"sampling_auth_rate": 1.5}, r"observability.sampling_auth_rate: 1.5 is out of range; allowed: a number from 0 to 1"),
        ({"sampling_boost_max_rate": 0.01}, r"observability.sampling_boost_max_rate: 0.01 is below the default rate 0.05"),
        ({"xray_service_name": ""}, r"observability.xray_service_name: '' is not an X-Ray service name"),
        ({"auth_paths": ()}, r"observability.auth_paths: no path given; allowed: one or more URL paths"),
        ({"health_paths": ("healthz",)}, r"observability.health_paths: 'healthz' is not a URL path"),
        ({"aurora_replica_lag_ms": 5}, r"observability.aurora_replica_lag_ms: 5 is out of range"),
    ],
)
def test_invalid_observability(changes: dict[str, object], message: str) -> None:
    base = cfg.production()
    with pytest.raises(cfg.ConfigError, match=message):
        dataclasses.replace(base, observability=dataclasses.replace(base.observability, **changes))


def test_shipped_observability_configs_are_valid() -> None:
    for config in (cfg.sandbox(), cfg.production()):
        config.observability.validate()
    assert cfg.sandbox().observability.sampling_default_rate > cfg.production().observability.sampling_default_rate
