"""The Secrets Manager rotation protocol and the two targets it rotates, free of boto3.

Secrets Manager calls a rotation function four times per rotation, each time with the secret, a
``ClientRequestToken`` (the id of the new version) and a ``Step``; any step may be retried, so
every step is idempotent. The version checks are the ones AWS's own rotation templates make
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):
rotation must be enabled on the secret, the token must name a version of it, a version that is
already AWSCURRENT needs no work, and any other version that is not AWSPENDING is refused.

Targets (what the secret authenticates to):
- ``CacheAuthToken``: the ElastiCache (Valkey/Redis OSS) AUTH token. setSecret adds the pending
  token with ``AuthTokenUpdateStrategy=ROTATE``: the replication group then accepts the current and
  the new token, so clients holding the current one keep working while they switch (ElastiCache
  user guide, "Modifying the AUTH token on an existing cluster",
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html). The next rotation's ROTATE
  replaces the older of the two, so the previous token stays valid for one rotation period. SET
  (which would drop it at once) is never used.
- ``OriginHeader``: the X-Origin-Verify value CloudFront sends and the ALB listener rule checks,
  with a two-value window (AWS Security Blog, "How to enhance Amazon CloudFront origin security
  with AWS WAF and AWS Secrets Manager",
  https://aws.amazon.com/blogs/security/how-to-enhance-amazon-cloudfront-origin-security-with-aws-waf-and-aws-secrets-manager/):
  setSecret makes the rule accept current + pending, then points CloudFront's origin header at the
  pending value; finishSecret moves AWSCURRENT and leaves the rule accepting current + previous, so
  edge locations still sending the old value are admitted until the next rotation.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"


# Letters and digits only, for both targets: ElastiCache AUTH refuses @, ", / and %, and ALB header
# conditions treat * and ? as wildcards. 62 symbols: 48 characters carry 285 bits, 64 carry 381.
ALPHABET = string.ascii_letters + string.digits


def random_value(length: int) -> str:
    """A new secret value from the OS's CSPRNG (``secrets``), with a lower, an upper and a digit.
    Generated here rather than with GetRandomPassword, which has no resource-level permission."""
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value


class RotationEventError(ValueError):
    """The event is not a Secrets Manager rotation event."""


class RotationRefused(RuntimeError):
    """The secret or version may not be rotated (a protocol violation, not a passing fault)."""


class NotReady(RuntimeError):
    """The target is busy (e.g. a modification in progress); the step fails, the rotation is re-attempted."""


class CheckFailed(RuntimeError):
    """testSecret found the target not using the pending value."""


@dataclass(frozen=True)
class RotationEvent:
    secret_id: str
    token: str
    step: str


def parse_event(event: Any) -> RotationEvent:
    if not isinstance(event, Mapping):
        raise RotationEventError("the event is not a JSON object")
    values = {key: event.get(key) for key in ("SecretId", "ClientRequestToken", "Step")}
    missing = [key for key, value in values.items() if not isinstance(value, str) or not value]
    if missing:
        raise RotationEventError(f"the event lacks {', '.join(missing)}")
    if values["Step"] not in STEPS:
        raise RotationEventError(f"Step {values['Step']!r} is not one of {', '.join(STEPS)}")
    return RotationEvent(secret_id=str(values["SecretId"]), token=str(values["ClientRequestToken"]), step=str(values["Step"]))


def version_state(metadata: Mapping[str, Any], token: str) -> str:
    """``"current"`` or ``"pending"`` for the version ``token``; RotationRefused otherwise."""
    if not metadata.get("RotationEnabled"):
        raise RotationRefused("rotation is not enabled on the secret")
    stages = metadata.get("VersionIdsToStages") or {}
    if token not in stages:
        raise RotationRefused(f"version {token} has no stage for rotation of the secret")
    if CURRENT in stages[token]:
        return "current"
    if PENDING not in stages[token]:
        raise RotationRefused(f"version {token} is not set as AWSPENDING for rotation of the secret")
    return "pending"


def version_with(metadata: Mapping[str, Any], stage: str) -> str | None:
    for version, stages in (metadata.get("VersionIdsToStages") or {}).items():
        if stage in stages:
            return str(version)
    return None


class SecretStore(Protocol):
    def describe(self, secret_id: str) -> Mapping[str, Any]: ...
    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None: ...
    def put_pending(self, secret_id: str, token: str, value: str) -> None: ...
    def created(self, secret_id: str, version_id: str) -> datetime: ...
    def move_current(self, secret_id: str, *, to_version: str, from_version: str | None) -> None: ...


class Target(Protocol):
    value_length: int

    def set(self, pending: str, current: str, pending_created: datetime) -> str: ...
    def test(self, pending: str, current: str, pending_created: datetime) -> str: ...
    def finish(self, current: str, previous: str | None) -> str: ...


class Rotator:
    def __init__(self, store: SecretStore, target: Target) -> None:
        self.store = store
        self.target = target

    def run(self, event: RotationEvent) -> str:
        metadata = self.store.describe(event.secret_id)
        state = version_state(metadata, event.token)
        if event.step == "finishSecret":
            return self._finish(event, metadata, state)
        if state == "current":
            return f"{event.step}: version {event.token} is already AWSCURRENT; nothing to do"
        current = self.store.value(event.secret_id, stage=CURRENT)
        if current is None:
            raise RotationRefused("the secret has no AWSCURRENT value")
        if event.step == "createSecret":
            return self._create(event)
        pending = self.store.value(event.secret_id, stage=PENDING, version_id=event.token)
        if pending is None:
            raise RotationRefused(f"version {event.token} holds no AWSPENDING value; createSecret has not run")
        created = self.store.created(event.secret_id, event.token)
        if event.step == "setSecret":
            return self.target.set(pending, current, created)
        return self.target.test(pending, current, created)

    def _create(self, event: RotationEvent) -> str:
        if self.store.value(event.secret_id, stage=PENDING, version_id=event.token) is not None:
            return f"createSecret: version {event.token} already holds the pending value"
        self.store.put_pending(event.secret_id, event.token, random_value(self.target.value_length))
        return f"createSecret: new value stored as AWSPENDING in version {event.token}"

    def _finish(self, event: RotationEvent, metadata: Mapping[str, Any], state: str) -> str:
        current_version = version_with(metadata, CURRENT)
        if state == "pending":
            self.store.move_current(event.secret_id, to_version=event.token, from_version=current_version)
            previous_version = current_version
            moved = f"finishSecret: AWSCURRENT moved to {event.token}"
        else:
            previous_version = version_with(metadata, PREVIOUS)
            moved = f"finishSecret: {event.token} was already AWSCURRENT"
        current = self.store.value(event.secret_id, stage=CURRENT, version_id=event.token)
        if current is None:
            raise RotationRefused(f"version {event.token} holds no value")
        previous = self.store.value(event.secret_id, stage=PREVIOUS, version_id=previous_version) if previous_version else None
        return f"{moved}; {self.target.finish(current, previous)}"


# --- ElastiCache AUTH token ------------------------------------------------------------------------


class CacheApi(Protocol):
    def replication_group(self, group_id: str) -> Mapping[str, Any]: ...
    def rotate_auth_token(self, group_id: str, token: str) -> None: ...


# ElastiCache AUTH: 16-128 printable characters.
CACHE_TOKEN_LENGTH = 64


class CacheAuthToken:
    value_length = CACHE_TOKEN_LENGTH

    def __init__(self, api: CacheApi, group_id: str) -> None:
        self.api = api
        self.group_id = group_id

    def _group(self) -> Mapping[str, Any]:
        group = self.api.replication_group(self.group_id)
        if not group.get("AuthTokenEnabled"):
            raise RotationRefused(f"replication group {self.group_id} does not use an AUTH token")
        return group

    def _applied(self, group: Mapping[str, Any], pending_created: datetime) -> bool:
        """The token was last modified after the pending version was created: our ROTATE went through.
        ElastiCache never returns tokens, so this date is the one idempotency evidence it offers."""
        modified = group.get("AuthTokenLastModifiedDate")
        return isinstance(modified, datetime) and modified >= pending_created

    def _busy(self, group: Mapping[str, Any]) -> str | None:
        status = group.get("Status")
        if status != "available":
            return f"status {status}"
        auth_status = (group.get("PendingModifiedValues") or {}).get("AuthTokenStatus")
        if auth_status:
            return f"AUTH token change {auth_status}"
        return None

    def set(self, pending: str, current: str, pending_created: datetime) -> str:
        group = self._group()
        if self._applied(group, pending_created):
            return f"setSecret: {self.group_id} already received the pending token"
        busy = self._busy(group)
        if busy:
            raise NotReady(f"replication group {self.group_id} is not ready for a token change ({busy})")
        self.api.rotate_auth_token(self.group_id, pending)
        return f"setSecret: {self.group_id} now accepts the current and the pending token (ROTATE)"

    def test(self, pending: str, current: str, pending_created: datetime) -> str:
        group = self._group()
        if not self._applied(group, pending_created):
            raise CheckFailed(f"replication group {self.group_id} has not received the pending token")
        busy = self._busy(group)
        if busy:
            raise NotReady(f"replication group {self.group_id} is still applying the token ({busy})")
        return f"testSecret: {self.group_id} is available with the pending token applied"

    def finish(self, current: str, previous: str | None) -> str:
        return f"{self.group_id} keeps accepting the previous token until the next rotation"


# --- CloudFront origin header ----------------------------------------------------------------------


class OriginApi(Protocol):
    def set_rule_conditions(self, rule_arn: str, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]: ...
    def distribution_id(self) -> str | None: ...
    def distribution_config(self, distribution_id: str) -> tuple[dict[str, Any], str]: ...
    def update_distribution(self, distribution_id: str, config: dict[str, Any], etag: str) -> None: ...


ORIGIN_VALUE_LENGTH = 48


def header_condition(header_name: str, values: Sequence[str]) -> list[dict[str, Any]]:
    """The listener rule's whole condition list. The rule is MediVault's "forward what carries the
    origin header" rule (constructs/cloudfront_only_alb.py): the header is its only condition, so the list is
    written whole -- ModifyRule replaces conditions -- and reading it first is not needed
    (DescribeRules has no resource-level permission; ModifyRule is scoped to this rule's ARN)."""
    return [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": header_name, "Values": list(dict.fromkeys(values))}}]


def header_values(conditions: Sequence[Mapping[str, Any]], header_name: str) -> list[str]:
    for condition in conditions:
        config = condition.get("HttpHeaderConfig") or {}
        if condition.get("Field") == "http-header" and str(config.get("HttpHeaderName", "")).lower() == header_name.lower():
            return [str(v) for v in config.get("Values", [])]
    raise RotationRefused(f"the listener rule has no http-header condition on {header_name}")


def origin_headers(config: Mapping[str, Any], origin_domain: str, header_name: str) -> list[dict[str, Any]]:
    """The origin custom-header entries named ``header_name`` on origins pointing at ``origin_domain``."""
    found = []
    for origin in (config.get("Origins") or {}).get("Items", []):
        if str(origin.get("DomainName", "")).lower() != origin_domain.lower():
            continue
        for header in (origin.get("CustomHeaders") or {}).get("Items", []):
            if str(header.get("HeaderName", "")).lower() == header_name.lower():
                found.append(header)
    return found


class OriginHeader:
    value_length = ORIGIN_VALUE_LENGTH

    def __init__(self, api: OriginApi, *, rule_arn: str, header_name: str, origin_domain: str) -> None:
        self.api = api
        self.rule_arn = rule_arn
        self.header_name = header_name
        self.origin_domain = origin_domain

    def _accept(self, values: Sequence[str]) -> list[str]:
        """Set the values the rule accepts (idempotent); the rule's answer must list exactly them."""
        wanted = list(dict.fromkeys(values))
        accepted = header_values(self.api.set_rule_conditions(self.rule_arn, header_condition(self.header_name, wanted)), self.header_name)
        if sorted(accepted) != sorted(wanted):
            raise CheckFailed(f"the listener rule accepts {len(accepted)} values after ModifyRule, expected {len(wanted)}")
        return accepted

    def _distribution(self) -> str | None:
        return self.api.distribution_id()

    def set(self, pending: str, current: str, pending_created: datetime) -> str:
        # 1. The ALB admits both values before CloudFront sends the new one.
        self._accept([current, pending])
        notes = ["listener rule accepts current + pending"]
        # 2. CloudFront's origin header -> the pending value (optimistic locking with the ETag).
        distribution_id = self._distribution()
        if distribution_id is None:
            # First deploy: the Edge stack (created after the App stack) does not exist yet. It will
            # resolve AWSCURRENT when it is created, and the rule keeps accepting both values.
            notes.append("no CloudFront distribution fronts this origin yet")
            return "setSecret: " + "; ".join(notes)
        config, etag = self.api.distribution_config(distribution_id)
        headers = origin_headers(config, self.origin_domain, self.header_name)
        if not headers:
            raise RotationRefused(f"distribution {distribution_id} sends no {self.header_name} header to {self.origin_domain}")
        if all(header["HeaderValue"] == pending for header in headers):
            notes.append(f"distribution {distribution_id} already sends the pending value")
        else:
            for header in headers:
                header["HeaderValue"] = pending
            self.api.update_distribution(distribution_id, config, etag)
            notes.append(f"distribution {distribution_id} now sends the pending value")
        return "setSecret: " + "; ".join(notes)

    def test(self, pending: str, current: str, pending_created: datetime) -> str:
        # The rule is re-asserted (ModifyRule is idempotent) rather than read: a stack update
        # between setSecret and testSecret that reset it to AWSCURRENT alone is repaired here.
        self._accept([current, pending])
        distribution_id = self._distribution()
        if distribution_id is None:
            return "testSecret: listener rule accepts current + pending; no distribution yet"
        config, _ = self.api.distribution_config(distribution_id)
        headers = origin_headers(config, self.origin_domain, self.header_name)
        if not headers or any(header["HeaderValue"] != pending for header in headers):
            raise CheckFailed(f"distribution {distribution_id} does not send the pending value")
        return f"testSecret: listener rule accepts current + pending; distribution {distribution_id} sends the pending value"

    def finish(self, current: str, previous: str | None) -> str:
        values = [current] if previous is None else [current, previous]
        self._accept(values)
        return "listener rule accepts current + previous" if previous else "listener rule accepts current"
