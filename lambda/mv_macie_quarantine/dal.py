"""The only module that calls AWS: S3 (read, copy, tag, delete one object version) and SNS.

Clients are created on first use (not at import); boto3 takes the region from AWS_REGION.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import boto3
from botocore.exceptions import ClientError

CHUNK = 8 * 1024 * 1024
# The answers that mean "no such object/version". HeadObject has no response body, so botocore
# reports S3's HTTP status as the code: "404" for a missing key, "403" for AccessDenied. 403 is NOT
# here: without s3:ListBucket, or under an explicit deny, S3 answers 403 whether or not the object
# exists (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), and reading it as
# "missing" would report a live PHI object as gone.
NOT_FOUND = ("404", "NoSuchKey", "NoSuchVersion", "NotFound")


@functools.cache
def clients() -> tuple[Any, Any]:
    """(S3, SNS)."""
    return boto3.client("s3"), boto3.client("sns")


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


class S3Objects:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
        """The object's head, or None only if S3 says it does not exist; any other error raises."""
        try:
            result: dict[str, Any] = self.s3.head_object(Bucket=bucket, Key=key, **_version(version_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise
        return result

    def sha256(self, bucket: str, key: str, version_id: str | None = None) -> str:
        body = self.s3.get_object(Bucket=bucket, Key=key, **_version(version_id))["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(CHUNK), b""):
            digest.update(chunk)
        return digest.hexdigest()

    def copy(self, *, bucket: str, key: str, version_id: str | None, to_bucket: str, to_key: str, extra: dict[str, Any]) -> None:
        # The managed copy switches to a multipart copy above its threshold (objects over 5 GB).
        self.s3.copy(CopySource={"Bucket": bucket, "Key": key, **_version(version_id)}, Bucket=to_bucket, Key=to_key, ExtraArgs=extra)

    def put_tags(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        self.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})

    def tags(self, bucket: str, key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        self.s3.delete_object(Bucket=bucket, Key=key, **_version(version_id))


class SnsTopic:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> None:
        self.sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)
