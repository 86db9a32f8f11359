"""Move one S3 object that Macie found sensitive data in out of a non-PHI bucket, never losing it.

Layers: the decisions and their order live here; S3 and SNS are reached through ``Objects``
(dal.S3Objects) and the handler.

Order of operations (each step is safe to repeat, so a redelivered finding converges):
1. read the source object version's size (HeadObject with the version id);
2. copy that exact version to the quarantine bucket (SSE-KMS, Object Lock default retention),
   under a key derived from bucket + version id + key, so a second delivery finds the same copy;
3. verify the copy: same size and same SHA-256 over the whole body, read back from both buckets;
4. tag the copy (finding id, source bucket) and read the tags back;
5. only then delete the source version (that one version, not the whole key);
6. report what happened (the caller notifies the security topic).
If anything fails before step 5 the source is untouched; the error propagates so Lambda retries and
then keeps the event in the dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

QUARANTINE_TAG = "medivault:quarantine"


class NotAQuarantineFinding(ValueError):
    """The event is not a Macie sensitive-data finding on one S3 object (message says why)."""


class CopyNotVerified(RuntimeError):
    """The quarantine copy differs from the source; the source was not deleted."""


@dataclass(frozen=True)
class ObjectFinding:
    finding_id: str
    finding_type: str
    bucket: str
    key: str
    version_id: str | None  # None for an unversioned source bucket

    @property
    def quarantine_key(self) -> str:
        return f"{self.bucket}/{self.version_id or 'unversioned'}/{self.key}"


@dataclass(frozen=True)
class Outcome:
    status: str  # quarantined, already-quarantined, skipped, missing
    finding: ObjectFinding
    detail: str


def parse_finding(event: Any) -> ObjectFinding:
    """The object of a Macie ``SensitiveData:S3Object/*`` finding delivered by EventBridge."""
    if not isinstance(event, dict) or event.get("source") != "aws.macie" or event.get("detail-type") != "Macie Finding":
        raise NotAQuarantineFinding("not a Macie finding delivered by EventBridge (source aws.macie, detail-type 'Macie Finding')")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise NotAQuarantineFinding("the Macie finding has no detail object")
    finding_type = detail.get("type")
    if not isinstance(finding_type, str) or not finding_type.startswith("SensitiveData:S3Object/"):
        raise NotAQuarantineFinding(f"finding type {finding_type!r} is not a sensitive-data finding on an S3 object")
    finding_id = detail.get("id")
    affected = detail.get("resourcesAffected")
    bucket = affected.get("s3Bucket") if isinstance(affected, dict) else None
    obj = affected.get("s3Object") if isinstance(affected, dict) else None
    if not isinstance(finding_id, str) or not isinstance(bucket, dict) or not isinstance(obj, dict):
        raise NotAQuarantineFinding("the finding lacks id, resourcesAffected.s3Bucket or resourcesAffected.s3Object")
    name, key, version = bucket.get("name"), obj.get("key"), obj.get("versionId")
    if not isinstance(name, str) or not name or not isinstance(key, str) or not key:
        raise NotAQuarantineFinding("the finding does not name the bucket and object key")
    if version is not None and (not isinstance(version, str) or version in ("", "null")):
        version = None
    return ObjectFinding(finding_id=finding_id, finding_type=finding_type, bucket=name, key=key, version_id=version)


class Objects(Protocol):
    """What the move needs of S3 (dal.S3Objects)."""

    def head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None: ...
    def sha256(self, bucket: str, key: str, version_id: str | None = None) -> str: ...
    def copy(self, *, bucket: str, key: str, version_id: str | None, to_bucket: str, to_key: str, extra: dict[str, Any]) -> None: ...
    def put_tags(self, bucket: str, key: str, tags: dict[str, str]) -> None: ...
    def tags(self, bucket: str, key: str) -> dict[str, str]: ...
    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None: ...


class Quarantine:
    def __init__(
        self, objects: Objects, *, quarantine_bucket: str, kms_key_arn: str, protected_buckets: frozenset[str], phi_tag: tuple[str, str]
    ) -> None:
        self.objects = objects
        self.quarantine_bucket = quarantine_bucket
        self.kms_key_arn = kms_key_arn
        self.phi_tag = phi_tag
        # PHI buckets (PHI belongs there), evidence buckets (never moved) and the quarantine bucket
        # itself are never touched.
        self.protected_buckets = protected_buckets | {quarantine_bucket}

    def _head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
        """The object's head, or None only if S3 says it does not exist (404). Any other error --
        403 AccessDenied above all -- propagates (see dal.NOT_FOUND)."""
        return self.objects.head(bucket, key, version_id)

    def _sha256(self, bucket: str, key: str, version_id: str | None = None) -> str:
        return self.objects.sha256(bucket, key, version_id)

    def _tags(self, finding: ObjectFinding) -> dict[str, str]:
        return {
            # The copy holds PHI: the permission sets deny objects with this tag (s3:ExistingObjectTag).
            self.phi_tag[0]: self.phi_tag[1],
            QUARANTINE_TAG: "macie",
            "medivault:macie-finding-id": finding.finding_id[:256],
            "medivault:source-bucket": finding.bucket,
        }

    def _verified_copy(self, finding: ObjectFinding, source: dict[str, Any]) -> dict[str, Any] | None:
        """The quarantine copy's head if it exists with the source's size, else None."""
        copy = self._head(self.quarantine_bucket, finding.quarantine_key)
        if copy is None or copy["ContentLength"] != source["ContentLength"]:
            return None
        return copy

    def move(self, finding: ObjectFinding) -> Outcome:
        if finding.bucket in self.protected_buckets:
            return Outcome("skipped", finding, f"{finding.bucket} is a PHI, evidence or quarantine bucket; its objects are never moved")
        source = self._head(finding.bucket, finding.key, finding.version_id)
        if source is None:
            if self._head(self.quarantine_bucket, finding.quarantine_key) is not None:
                return Outcome("already-quarantined", finding, "the source version is gone and its quarantine copy exists")
            return Outcome("missing", finding, "the object version is in neither the source nor the quarantine bucket")

        copied_now = False
        if self._verified_copy(finding, source) is None:
            self._copy(finding)
            copied_now = True
        try:
            self._verify(finding, source)
        except CopyNotVerified:
            if copied_now:
                raise
            # A copy left by an earlier delivery differs (e.g. an unversioned key was overwritten
            # since): copy again. The quarantine bucket keeps the earlier copy as an older version.
            self._copy(finding)
            self._verify(finding, source)
        self._tag(finding)
        self._delete_source(finding, source)
        return Outcome("quarantined", finding, f"moved to s3://{self.quarantine_bucket}/{finding.quarantine_key}")

    def _copy(self, finding: ObjectFinding) -> None:
        self.objects.copy(
            bucket=finding.bucket,
            key=finding.key,
            version_id=finding.version_id,
            to_bucket=self.quarantine_bucket,
            to_key=finding.quarantine_key,
            extra={
                # Object Lock buckets refuse writes without an integrity checksum (Content-MD5 or this).
                "ChecksumAlgorithm": "SHA256",
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": self.kms_key_arn,
                "MetadataDirective": "REPLACE",
                "Metadata": {"source-bucket": finding.bucket, "source-key": quote(finding.key), "source-version-id": finding.version_id or ""},
            },
        )

    def _verify(self, finding: ObjectFinding, source: dict[str, Any]) -> None:
        copy = self._verified_copy(finding, source)
        if copy is None:
            raise CopyNotVerified(f"quarantine copy of s3://{finding.bucket}/{finding.key} is missing or has another size; source kept")
        source_hash = self._sha256(finding.bucket, finding.key, finding.version_id)
        copy_hash = self._sha256(self.quarantine_bucket, finding.quarantine_key)
        if source_hash != copy_hash:
            raise CopyNotVerified(f"quarantine copy of s3://{finding.bucket}/{finding.key} has another SHA-256; source kept")

    def _tag(self, finding: ObjectFinding) -> None:
        tags = self._tags(finding)
        self.objects.put_tags(self.quarantine_bucket, finding.quarantine_key, tags)
        written = self.objects.tags(self.quarantine_bucket, finding.quarantine_key)
        if written != tags:
            raise CopyNotVerified(f"quarantine copy of s3://{finding.bucket}/{finding.key} could not be tagged; source kept")

    def _delete_source(self, finding: ObjectFinding, source: dict[str, Any]) -> None:
        if finding.version_id:
            self.objects.delete(finding.bucket, finding.key, finding.version_id)
            return
        # Unversioned source: delete only if the object is still the one that was copied.
        current = self._head(finding.bucket, finding.key)
        if current is not None and current.get("ETag") == source.get("ETag"):
            self.objects.delete(finding.bucket, finding.key)


def notice(outcome: Outcome) -> tuple[str, str]:
    """(subject, message) of the security-topic notice for ``outcome``."""
    finding = outcome.finding
    subject = f"[HIGH] Macie: object {outcome.status} ({finding.finding_type})"[:100]
    message = "\n".join(
        [
            f"What:     sensitive data found by Macie; object {outcome.status}",
            f"Object:   s3://{finding.bucket}/{finding.key} (version {finding.version_id or 'none'})",
            f"Result:   {outcome.detail}",
            f"Finding:  {finding.finding_id}",
        ]
    )
    return subject, message
