"""Handler tests: fake credentials and region, X-Ray off, nothing reaches AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mv_shared import custom_resource


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


@dataclass
class FakeContext:
    """The fields Powertools' inject_lambda_context reads."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:test-function"
    aws_request_id: str = "req-1"


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What a custom-resource handler answers CloudFormation: each PUT to the pre-signed ResponseURL
    (sent by lambda/mv_shared/custom_resource.py), captured instead of sent."""
    sent: list[dict[str, Any]] = []

    class _Response:
        status = 200

        def __enter__(self) -> _Response:
            return self

        def __exit__(self, *args: object) -> None:
            return None

    def fake_urlopen(request: Any, timeout: int) -> _Response:
        assert request.get_method() == "PUT" and request.full_url.startswith("https://")
        sent.append(json.loads(request.data))
        return _Response()

    monkeypatch.setattr(custom_resource.urllib.request, "urlopen", fake_urlopen)
    return sent
