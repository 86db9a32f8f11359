"""Every handler, given an event that is not its own, logs one clear error and changes nothing; and
no handler reads its environment or creates an AWS client when it is imported.

"Changes nothing" is observed, not assumed: every boto3 client a handler creates is a real client
(under moto) with a Stubber that has nothing queued and a hook that records each API call made;
the test asserts that no call was attempted (a read included) and that no CloudFormation response
was sent. The one error line must say ``rejected: <why>; nothing was changed``.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mv_shared.observability import logger

from .conftest import FakeContext

pytestmark = pytest.mark.requirements("R10", "R14")

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
HANDLERS = sorted(p.name for p in LAMBDA.iterdir() if (p / "handler.py").is_file())
ENVIRONMENT = {
    "TOPIC_ARN": "arn:aws:sns:eu-central-1:123456789012:security",
    "TABLE_NAME": "seen",
    "QUARANTINE_BUCKET": "quarantine",
    "QUARANTINE_KEY_ARN": "arn:aws:kms:eu-central-1:123456789012:key/k",
    "PHI_TAG": "data-class=phi",
    "PRIMARY_VAULT_NAME": "primary",
    "DR_VAULT_NAME": "dr",
    "DR_REGION": "eu-west-1",
    "PROTECTED_RESOURCE_ARNS": '["arn:aws:rds:eu-central-1:123456789012:cluster:db"]',
    "PRIMARY_MAX_AGE_HOURS": "26",
    "COPY_MAX_AGE_HOURS": "30",
    "METRIC_NAMESPACE": "MediVault/DR",
    "ROTATION_TARGET": "cache-auth-token",
    "SECRET_ARN": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:cache-AbCdEf",
    "REPLICATION_GROUP_ID": "cache",
}
# Not one of them is an event any handler accepts (none has an EventBridge id, a ResponseURL, a
# Config resultToken or a rotation Step).
MALFORMED: list[Any] = [
    None,
    "text",
    [],
    {},
    {"detail": "not an object"},
    {"source": "aws.s3", "detail-type": "Object Created"},
    {"RequestType": "Create", "ResourceProperties": {}},
    {"invokingEvent": 42, "ruleParameters": "{"},
    {"SecretId": "", "Step": "createSecret"},
]


class Calls:
    def __init__(self) -> None:
        self.made: list[str] = []
        self.stubs: list[Stubber] = []

    def client(self, real: Any) -> Any:
        def _client(service: str, *args: Any, **kwargs: Any) -> Any:
            made = real(service, *args, **kwargs)
            made.meta.events.register("provide-client-params", lambda model, **_: self.made.append(f"{service}:{model.name}"))
            stub = Stubber(made)
            stub.activate()
            self.stubs.append(stub)
            return made

        return _client


def _clear_caches() -> None:
    for name in HANDLERS:
        module = importlib.import_module(f"{name}.dal")
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
        handler = importlib.import_module(f"{name}.handler")
        if hasattr(handler, "SETTINGS"):
            handler.SETTINGS.clear()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    recorded = Calls()
    with mock_aws():
        monkeypatch.setattr(boto3, "client", recorded.client(boto3.client))
        _clear_caches()
        yield recorded
        _clear_caches()


@pytest.mark.parametrize("name", HANDLERS)
@pytest.mark.parametrize("event", MALFORMED, ids=[f"event{i}" for i in range(len(MALFORMED))])
def test_a_malformed_event_logs_one_clear_error_and_changes_nothing(
    name: str, event: Any, calls: Calls, caplog: pytest.LogCaptureFixture, responses: list[dict[str, Any]]
) -> None:
    handler = importlib.import_module(f"{name}.handler")
    try:
        result = handler.lambda_handler(event, FakeContext())
    except ValueError as error:  # the rotation function fails the step (Secrets Manager's protocol) after logging
        assert name == "mv_secret_rotation", f"{name} raised {error!r}"
        result = None
    ours = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name == logger.name]
    others = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name != logger.name]
    # The rotation function re-raises (the step must fail): Powertools' tracer then logs the exception
    # it passes on, as the Lambda runtime will. Every other handler returns, with nothing else logged.
    if name != "mv_secret_rotation":
        assert others == [], others
    assert len(ours) == 1, ours
    assert ours[0].startswith("rejected: ") and ours[0].endswith("; nothing was changed"), ours[0]
    assert calls.made == [], f"{name} called AWS for a malformed event: {calls.made}"
    assert responses == []
    if result is not None:
        status = result.get("status") or result.get("Status")
        assert status in ("rejected", "DROPPED"), result


def test_importing_a_handler_reads_no_environment_and_creates_no_client() -> None:
    """A handler module imported with an empty environment, and boto3 made to fail on any client
    or session, imports cleanly: settings and clients come on first use (the old mv_db_migration,
    mv_macie_job and mv_dr_readiness read AWS_REGION / their settings and built clients at import)."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(LAMBDA)!r}]
        import boto3, boto3.session

        def refuse(*args, **kwargs):
            raise AssertionError("boto3 client or session created at import")

        boto3.client = boto3.resource = refuse
        boto3.session.Session.__init__ = refuse
        import os
        assert not any(k.startswith(("AWS_", "POWERTOOLS_")) for k in os.environ), sorted(os.environ)
        for name in {HANDLERS!r}:
            __import__(name + ".handler")
        print("imported", len({HANDLERS!r}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"imported {len(HANDLERS)}"
