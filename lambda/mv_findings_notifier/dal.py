"""The only module that calls AWS: the DynamoDB claim table and the security SNS topic.

Clients are created on first use (not at import); boto3 takes the region from AWS_REGION.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.exceptions import ClientError

# The one DynamoDB answer that proves a repeat: the conditional put found the key
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#API_PutItem_Errors).
# Throttling, AccessDenied, KMS errors (a key-policy mistake) and the rest prove nothing and raise.
ALREADY_CLAIMED = "ConditionalCheckFailedException"


@functools.cache
def clients() -> tuple[Any, Any]:
    """(SNS, DynamoDB)."""
    return boto3.client("sns"), boto3.client("dynamodb")


class ClaimTable:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name

    def claim(self, key: str, expires_at: int) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={"pk": {"S": key}, "expires_at": {"N": str(expires_at)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == ALREADY_CLAIMED:
                return False
            raise
        return True

    def release(self, key: str) -> None:
        self.dynamodb.delete_item(TableName=self.table_name, Key={"pk": {"S": key}})


class SnsTopic:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> None:
        self.sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)
