"""The only module that calls AWS: Secrets Manager, ElastiCache, Elastic Load Balancing, CloudFront, SSM.

Clients are created on first use (not at import); boto3 takes the region from AWS_REGION.

Secret values pass through this module. An AWS error may quote a request parameter back (a
validation error reads "Value '...' at '...' failed to satisfy constraint"), and the Lambda runtime
writes an unhandled exception's message to the function's log: every call that sends a secret value
turns a failure into ``SecretCallFailed``, whose message is the AWS error with that value replaced
by ``***`` and which does not chain the original exception.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mv_secret_rotation.logic import CURRENT, PENDING

REDACTED = "***"


class SecretCallFailed(RuntimeError):
    """An AWS call that carried a secret value failed (the message never holds the value)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    return text


@contextmanager
def carrying(operation: str, *secrets: str) -> Iterator[None]:
    """Run an AWS call that sends ``secrets``; its failure is re-raised without them."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "Unknown"))
        message = str(error.response.get("Error", {}).get("Message", ""))
        raise SecretCallFailed(redact(f"{operation} failed: {code}: {message}", secrets), code) from None
    except BotoCoreError as error:
        raise SecretCallFailed(redact(f"{operation} failed: {type(error).__name__}: {error}", secrets), type(error).__name__) from None


class SecretsManagerStore:
    def __init__(self, client: Any) -> None:
        self.client = client

    def describe(self, secret_id: str) -> Mapping[str, Any]:
        return dict(self.client.describe_secret(SecretId=secret_id))

    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        # Always with an explicit stage: a read without one returns AWSCURRENT only.
        request: dict[str, str] = {"SecretId": secret_id, "VersionStage": stage}
        if version_id is not None:
            request["VersionId"] = version_id
        try:
            return str(self.client.get_secret_value(**request)["SecretString"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise

    def put_pending(self, secret_id: str, token: str, value: str) -> None:
        with carrying("secretsmanager:PutSecretValue", value):
            self.client.put_secret_value(SecretId=secret_id, ClientRequestToken=token, SecretString=value, VersionStages=[PENDING])

    def created(self, secret_id: str, version_id: str) -> datetime:
        response = self.client.get_secret_value(SecretId=secret_id, VersionId=version_id, VersionStage=PENDING)
        return response["CreatedDate"]  # type: ignore[no-any-return]

    def move_current(self, secret_id: str, *, to_version: str, from_version: str | None) -> None:
        # Secrets Manager labels the version that loses AWSCURRENT as AWSPREVIOUS itself.
        request = {"SecretId": secret_id, "VersionStage": CURRENT, "MoveToVersionId": to_version}
        if from_version is not None:
            request["RemoveFromVersionId"] = from_version
        self.client.update_secret_version_stage(**request)


class ElastiCacheApi:
    def __init__(self, client: Any) -> None:
        self.client = client

    def replication_group(self, group_id: str) -> Mapping[str, Any]:
        groups = self.client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
        if len(groups) != 1:
            raise LookupError(f"replication group {group_id} not found")
        return dict(groups[0])

    def rotate_auth_token(self, group_id: str, token: str) -> None:
        with carrying("elasticache:ModifyReplicationGroup", token):
            self.client.modify_replication_group(
                ReplicationGroupId=group_id, AuthToken=token, AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True
            )


class OriginApis:
    def __init__(self, elbv2: Any, cloudfront: Any, ssm: Any, distribution_parameter: str) -> None:
        self.elbv2 = elbv2
        self.cloudfront = cloudfront
        self.ssm = ssm
        self.distribution_parameter = distribution_parameter

    def set_rule_conditions(self, rule_arn: str, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        values = tuple(str(v) for c in conditions for v in (c.get("HttpHeaderConfig") or {}).get("Values", []))
        with carrying("elasticloadbalancing:ModifyRule", *values):
            rules = self.elbv2.modify_rule(RuleArn=rule_arn, Conditions=conditions)["Rules"]
        return [dict(c) for c in rules[0]["Conditions"]]

    def distribution_id(self) -> str | None:
        """The distribution's id, published by the Edge stack in an SSM parameter. The distribution is
        created after this function's stack, so its id cannot be part of this function's configuration;
        a missing parameter means the Edge stack does not exist yet (first deploy)."""
        try:
            value = self.ssm.get_parameter(Name=self.distribution_parameter)["Parameter"]["Value"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise
        return str(value)

    def distribution_config(self, distribution_id: str) -> tuple[dict[str, Any], str]:
        response = self.cloudfront.get_distribution_config(Id=distribution_id)
        return response["DistributionConfig"], response["ETag"]

    def update_distribution(self, distribution_id: str, config: dict[str, Any], etag: str) -> None:
        # IfMatch: a concurrent change (a stack update) makes this fail instead of being overwritten.
        values = tuple(
            str(header.get("HeaderValue", ""))
            for origin in (config.get("Origins") or {}).get("Items", [])
            for header in (origin.get("CustomHeaders") or {}).get("Items", [])
        )
        with carrying("cloudfront:UpdateDistribution", *values):
            self.cloudfront.update_distribution(Id=distribution_id, IfMatch=etag, DistributionConfig=config)
