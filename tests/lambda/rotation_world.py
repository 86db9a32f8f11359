"""Shared moto set-up for the rotation function tests (Secrets Manager side).

moto gap: moto marks a secret ``RotationEnabled`` only through RotateSecret, which invokes the
rotation Lambda (Docker, not available here). What RotateSecret does before it invokes the function
-- rotation enabled, and the new version id (the ClientRequestToken) labelled AWSPENDING before
createSecret stores a value in it (the "has no stage for rotation" check of AWS's templates relies
on that) -- is added to DescribeSecret's answer by a botocore hook (``begin``); every other field
and every value is moto's.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3

from mv_secret_rotation import handler


class SecretsWorld:
    def __init__(self, initial: str) -> None:
        self.sm = boto3.client("secretsmanager")
        self.begun: set[str] = set()
        self.sm.meta.events.register("after-call.secretsmanager.DescribeSecret", self._as_secrets_manager_does)
        self.arn = self.sm.create_secret(Name=f"s-{uuid.uuid4().hex[:6]}", SecretString=initial)["ARN"]

    def _as_secrets_manager_does(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed["RotationEnabled"] = True
        for token in self.begun:
            parsed.setdefault("VersionIdsToStages", {}).setdefault(token, ["AWSPENDING"])

    def begin(self) -> str:
        """Start a rotation as RotateSecret does: a new version id labelled AWSPENDING."""
        token = str(uuid.uuid4())
        self.begun.add(token)
        return token

    def value(self, stage: str) -> str:
        return str(self.sm.get_secret_value(SecretId=self.arn, VersionStage=stage)["SecretString"])

    def stages(self) -> dict[str, list[str]]:
        return dict(self.sm.describe_secret(SecretId=self.arn)["VersionIdsToStages"])

    def event(self, step: str, token: str) -> dict[str, str]:
        return {"SecretId": self.arn, "ClientRequestToken": token, "Step": step}


def clients(**overrides: Any) -> Any:
    """A client factory for ``handler.handle``: the given clients, boto3 (under moto) for the rest."""

    def client(service: str) -> Any:
        return overrides.get(service) or boto3.client(service)

    return client


__all__ = ["SecretsWorld", "clients", "handler"]
