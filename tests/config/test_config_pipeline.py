"""Invalid pipeline configuration fails with a message naming the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config import pipeline as pipeline_cfg

pytestmark = pytest.mark.requirements("R16")

REAL_CONNECTION = "arn:aws:codeconnections:eu-central-1:123456789012:connection/3f1c2b7e-9a0d-4c51-8e2f-6b7a1d0c9e44"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account": "12345"}, r"pipeline.account: '12345' is not an AWS account ID"),
        ({"region": "eu-west-1"}, r"pipeline.region: 'eu-west-1' is not allowed; allowed: eu-central-1"),
        ({"connection_arn": "arn:aws:iam::444444444444:role/x"}, r"pipeline.connection_arn: .* is not a CodeConnections connection ARN"),
        (
            {"connection_arn": "arn:aws:codeconnections:eu-central-1:999999999999:connection/00000000-0000-0000-0000-000000000000"},
            r"pipeline.connection_arn: the connection belongs to account 999999999999; allowed: a connection in the tooling account",
        ),
        ({"repository": "medivault-eu"}, r"pipeline.repository: 'medivault-eu' is not owner/name"),
        ({"branch": "feature..x"}, r"pipeline.branch: 'feature..x' is not a git branch name"),
        ({"branch": "-main"}, r"pipeline.branch: '-main' is not a git branch name"),
        ({"notification_email": "ops"}, r"pipeline.notification_email: 'ops' is not an e-mail address"),
        ({"log_retention_days": 42}, r"pipeline.log_retention_days: 42 days is not a CloudWatch Logs retention"),
        ({"log_retention_days": 30}, r"pipeline.log_retention_days: 30 is below one year"),
        ({"pipeline_name": "bad name"}, r"pipeline.pipeline_name: 'bad name' is not a CodePipeline name"),
    ],
)
def test_invalid_pipeline(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        dataclasses.replace(pipeline_cfg.tooling(), **changes)


def test_review_defaults_are_placeholders() -> None:
    review = pipeline_cfg.tooling()
    assert review.account == pipeline_cfg.PLACEHOLDER_TOOLING_ACCOUNT == "444444444444"
    assert review.connection_arn == pipeline_cfg.PLACEHOLDER_CONNECTION_ARN
    assert review.is_placeholder


def test_placeholder_connection_in_a_real_account_is_still_a_placeholder() -> None:
    assert pipeline_cfg.tooling("123456789012").is_placeholder
    assert pipeline_cfg.tooling("123456789012").connection_arn.startswith("arn:aws:codeconnections:eu-central-1:123456789012:")


def test_real_connection_is_not_a_placeholder() -> None:
    real = pipeline_cfg.tooling("123456789012", REAL_CONNECTION)
    assert not real.is_placeholder
    legacy = pipeline_cfg.tooling("123456789012", REAL_CONNECTION.replace("codeconnections", "codestar-connections"))
    assert not legacy.is_placeholder
