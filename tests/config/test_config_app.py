"""App-tier configuration: each rule refuses a bad value with the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config.app import PLACEHOLDER_CERTIFICATE_ARN

pytestmark = pytest.mark.requirements("R4", "R5")


def _with_app(base: cfg.EnvironmentConfig, **changes: object) -> cfg.EnvironmentConfig:
    return dataclasses.replace(base, app=dataclasses.replace(base.app, **changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cpu": 300}, r"app.cpu: 300 is not a Fargate CPU size; allowed: 256, 512, 1024, 2048, 4096"),
        ({"cpu": 256, "memory_mib": 4096}, r"app.memory_mib: 4096 MiB does not fit 256 CPU units; allowed: 512, 1024, 2048"),
        ({"min_tasks": 0}, r"app.min_tasks: 0 is out of range; allowed: a number from 1 to 100"),
        ({"min_tasks": 2, "max_tasks": 1}, r"app.max_tasks: 1 is out of range; allowed: a number from 2 to 200"),
        ({"cpu_target_percent": 95}, r"app.cpu_target_percent: 95 is out of range; allowed: a number from 10 to 90"),
        ({"memory_target_percent": 5}, r"app.memory_target_percent: 5 is out of range"),
        ({"requests_per_target": 0}, r"app.requests_per_target: 0 is out of range"),
        (
            {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"},
            r"app.certificate_arn: .* not an ACM certificate ARN in eu-central-1",
        ),
        ({"tracing_sidecar_image": "public.ecr.aws/aws-observability/aws-otel-collector:latest"}, r"app.tracing_sidecar_image: .* is not pinned"),
        ({"tracing_sidecar_digest": "sha256:abc"}, r"app.tracing_sidecar_digest: 'sha256:abc' is not an image digest; allowed: sha256:"),
        (
            {"tracing_sidecar_image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0@sha256:" + "0" * 64},
            r"app.tracing_sidecar_image: .* carries a digest",
        ),
        ({"origin_header_name": "Host"}, r"app.origin_header_name: 'Host' is not a custom header name"),
    ],
)
def test_invalid_app_settings(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _with_app(cfg.sandbox(), **changes)


def test_production_runs_a_task_per_az() -> None:
    with pytest.raises(cfg.ConfigError, match=r"app.min_tasks: 2 is fewer than one task per AZ in production; allowed: 3 or more"):
        _with_app(cfg.production(), min_tasks=2)
    assert cfg.production().app.min_tasks == 3
    assert cfg.sandbox().app.min_tasks == 1


def test_placeholder_certificate_is_recognised() -> None:
    assert cfg.sandbox().app.has_placeholder_certificate
    real = _with_app(cfg.sandbox(), certificate_arn="arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000")
    assert not real.app.has_placeholder_certificate
    assert PLACEHOLDER_CERTIFICATE_ARN.startswith("arn:aws:acm:eu-central-1:")
