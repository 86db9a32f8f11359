"""boto3 clients per (service, region), created once; tests inject Stubber-wrapped clients where moto
lacks an API. The only module of tools/sandbox that creates AWS clients."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

_RETRIES = Config(retries={"max_attempts": 8, "mode": "standard"})


class Aws:
    def __init__(self, session: boto3.Session | None = None, overrides: dict[tuple[str, str], Any] | None = None) -> None:
        self.session = session or boto3.Session()
        self._clients: dict[tuple[str, str], Any] = dict(overrides or {})

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region, config=_RETRIES)  # type: ignore[call-overload]
        return self._clients[key]


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))
