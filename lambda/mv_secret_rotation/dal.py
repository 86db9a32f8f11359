"""The only module that calls AWS: Secrets Manager, ElastiCache, Elastic Load Balancing, CloudFront, SSM."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from mv_secret_rotation.logic import CURRENT, PENDING


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
        self.client.modify_replication_group(ReplicationGroupId=group_id, AuthToken=token, AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True)


class OriginApis:
    def __init__(self, elbv2: Any, cloudfront: Any, ssm: Any, distribution_parameter: str) -> None:
        self.elbv2 = elbv2
        self.cloudfront = cloudfront
        self.ssm = ssm
        self.distribution_parameter = distribution_parameter

    def set_rule_conditions(self, rule_arn: str, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
        self.cloudfront.update_distribution(Id=distribution_id, IfMatch=etag, DistributionConfig=config)
