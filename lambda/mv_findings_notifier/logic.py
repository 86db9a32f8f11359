"""The decisions of the findings notifier: turn one EventBridge security event into one short,
readable notice, and publish each notice once (``Notifier``).

Sources (the EventBridge rules of the audit stack route exactly these):
- ``aws.guardduty`` / ``GuardDuty Finding``
- ``aws.macie`` / ``Macie Finding``
- ``aws.config`` / ``Config Rules Compliance Change`` (NON_COMPLIANT only)
- ``aws.backup`` / ``Backup Job State Change`` and ``Copy Job State Change`` (failed states only)

No AWS calls here: the claim table and the topic are reached through ``Claims`` and ``Topic``
(implemented in dal.py), so everything is testable without mocks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from mv_shared.observability import event_summary, logger, reject


class UnrecognisedEvent(ValueError):
    """The input is not an event this notifier understands (the message says why)."""


@dataclass(frozen=True)
class Notice:
    source: str  # short source name: GuardDuty, Macie, Config, Backup
    finding_id: str
    updated_at: str
    what: str
    severity: str  # LOW, MEDIUM, HIGH, CRITICAL
    resource: str
    account: str
    region: str
    console_link: str

    @property
    def idempotency_key(self) -> str:
        """The same finding delivered again (same id, same update time) has the same key."""
        return f"{self.source}#{self.finding_id}#{self.updated_at}"

    @property
    def subject(self) -> str:
        # SNS e-mail subjects: at most 100 printable ASCII characters, no line breaks.
        text = f"[{self.severity}] {self.source}: {self.what}"
        text = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
        return text if len(text) <= 100 else text[:97] + "..."

    @property
    def message(self) -> str:
        return "\n".join(
            [
                f"What:     {self.what}",
                f"Severity: {self.severity}",
                f"Resource: {self.resource}",
                f"Account:  {self.account}",
                f"Region:   {self.region}",
                f"Console:  {self.console_link}",
                f"Finding:  {self.finding_id} (updated {self.updated_at})",
            ]
        )


FAILED_BACKUP_STATES = ("FAILED", "ABORTED", "EXPIRED")


def guardduty_severity(value: float) -> str:
    """GuardDuty's documented bands: 1.0-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical."""
    if value >= 9.0:
        return "CRITICAL"
    if value >= 7.0:
        return "HIGH"
    if value >= 4.0:
        return "MEDIUM"
    return "LOW"


def _str(container: dict[str, Any], key: str, where: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise UnrecognisedEvent(f"{where}.{key} is missing or not a string")
    return value


def _dict(container: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise UnrecognisedEvent(f"{where}.{key} is missing or not an object")
    return value


def _optional_dict(container: dict[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _console(region: str, service_path: str) -> str:
    return f"https://{region}.console.aws.amazon.com/{service_path}"


def _guardduty(event: dict[str, Any], detail: dict[str, Any], account: str, region: str) -> Notice:
    severity = detail.get("severity")
    if isinstance(severity, bool) or not isinstance(severity, (int, float)):
        raise UnrecognisedEvent("detail.severity of a GuardDuty finding is not a number")
    finding_id = _str(detail, "id", "detail")
    resource = _optional_dict(detail, "resource")
    return Notice(
        source="GuardDuty",
        finding_id=finding_id,
        updated_at=_str(detail, "updatedAt", "detail"),
        what=f"{detail.get('title') or _str(detail, 'type', 'detail')} ({detail.get('type', 'unknown type')})",
        severity=guardduty_severity(float(severity)),
        resource=str(resource.get("resourceType", "unknown")),
        account=str(detail.get("accountId") or account),
        region=str(detail.get("region") or region),
        console_link=_console(region, f"guardduty/home?region={region}#/findings?fId={quote(finding_id)}"),
    )


def _macie(event: dict[str, Any], detail: dict[str, Any], account: str, region: str) -> Notice:
    finding_id = _str(detail, "id", "detail")
    severity = _dict(detail, "severity", "detail")
    affected = _optional_dict(detail, "resourcesAffected")
    bucket = _optional_dict(affected, "s3Bucket").get("name", "")
    key = _optional_dict(affected, "s3Object").get("key", "")
    resource = f"s3://{bucket}/{key}" if bucket and key else (f"s3://{bucket}" if bucket else "unknown")
    return Notice(
        source="Macie",
        finding_id=finding_id,
        updated_at=_str(detail, "updatedAt", "detail"),
        what=f"{detail.get('title') or 'Macie finding'} ({_str(detail, 'type', 'detail')})",
        severity=str(severity.get("description", "UNKNOWN")).upper(),
        resource=resource,
        account=str(detail.get("accountId") or account),
        region=str(detail.get("region") or region),
        console_link=_console(region, f"macie/home?region={region}#findings?itemId={quote(finding_id)}"),
    )


def _config(event: dict[str, Any], detail: dict[str, Any], account: str, region: str) -> Notice | None:
    result = _dict(detail, "newEvaluationResult", "detail")
    compliance = _str(result, "complianceType", "detail.newEvaluationResult")
    if compliance != "NON_COMPLIANT":
        return None  # the rule routes NON_COMPLIANT only; anything else is not news
    rule = _str(detail, "configRuleName", "detail")
    resource_type = _str(detail, "resourceType", "detail")
    resource_id = _str(detail, "resourceId", "detail")
    # The same rule runs in several regions (the DR and edge detection stacks forward theirs here),
    # and an account-level resource has the same ID everywhere: the region is part of the finding.
    where = str(detail.get("awsRegion") or region)
    return Notice(
        source="Config",
        finding_id=f"{where}/{rule}/{resource_type}/{resource_id}",
        updated_at=str(result.get("resultRecordedTime") or _str(event, "time", "event")),
        what=f"{resource_type} is NON_COMPLIANT with rule {rule}",
        severity="MEDIUM",
        resource=f"{resource_type} {resource_id}",
        account=str(detail.get("awsAccountId") or account),
        region=where,
        console_link=_console(where, f"config/home?region={where}#/rules/details?configRuleName={quote(rule)}"),
    )


def _backup(event: dict[str, Any], detail: dict[str, Any], account: str, region: str, kind: str) -> Notice | None:
    state = _str(detail, "state", "detail")
    if state not in FAILED_BACKUP_STATES:
        return None
    id_key = "backupJobId" if kind == "backup" else "copyJobId"
    job_id = _str(detail, id_key, "detail")
    message = detail.get("statusMessage")
    return Notice(
        source="Backup",
        finding_id=job_id,
        updated_at=_str(event, "time", "event"),
        what=f"{kind.capitalize()} job {state}" + (f": {message}" if isinstance(message, str) and message else ""),
        severity="HIGH",
        resource=str(detail.get("resourceArn") or detail.get("resourceType") or "unknown"),
        account=account,
        region=region,
        console_link=_console(region, f"backup/home?region={region}#/jobs/{kind}/details/{quote(job_id)}"),
    )


def to_notice(event: Any) -> Notice | None:
    """The notice for ``event``; None if the event is recognised but not news (e.g. COMPLIANT).

    Raises UnrecognisedEvent for anything that is not one of the routed event shapes.
    """
    if not isinstance(event, dict):
        raise UnrecognisedEvent(f"event is a {type(event).__name__}, not an EventBridge event object")
    source = _str(event, "source", "event")
    detail_type = _str(event, "detail-type", "event")
    account = _str(event, "account", "event")
    region = _str(event, "region", "event")
    detail = _dict(event, "detail", "event")
    if source == "aws.guardduty" and detail_type == "GuardDuty Finding":
        return _guardduty(event, detail, account, region)
    if source == "aws.macie" and detail_type == "Macie Finding":
        return _macie(event, detail, account, region)
    if source == "aws.config" and detail_type == "Config Rules Compliance Change":
        return _config(event, detail, account, region)
    if source == "aws.backup" and detail_type == "Backup Job State Change":
        return _backup(event, detail, account, region, "backup")
    if source == "aws.backup" and detail_type == "Copy Job State Change":
        return _backup(event, detail, account, region, "copy")
    raise UnrecognisedEvent(f"no notice for source {source!r} with detail-type {detail_type!r}")


class Claims(Protocol):
    """The idempotency table (dal.ClaimTable)."""

    def claim(self, key: str, expires_at: int) -> bool:
        """True if ``key`` was not claimed before (now it is); False only if it was. Any failure raises."""
        ...

    def release(self, key: str) -> None: ...


class Topic(Protocol):
    def publish(self, subject: str, message: str) -> None: ...


class Notifier:
    """Outcomes:
    - a recognised finding, first delivery: claimed (key finding id + updated-at), then published. If
      publishing fails the claim is released and the error re-raised, so Lambda's retries and then
      the dead-letter queue keep the event (never lost). If the claim itself fails for any reason
      other than "already claimed" (throttling, a key-policy mistake), the error is raised too:
      only a proven repeat is a duplicate;
    - the same finding again (same id and updated-at): ``duplicate``, nothing published;
    - recognised but not news (a COMPLIANT change, a successful backup job): ``ignored``;
    - an EventBridge envelope we cannot read: one error log line, and a short "unrecognised event"
      notice is still published (deduplicated on the event id) so the security team sees it;
    - not an EventBridge event at all: one error log line, ``rejected`` (no retry would help).
    """

    def __init__(self, claims: Claims, topic: Topic, remember_days: int, clock: Any = time.time) -> None:
        self.claims = claims
        self.topic = topic
        self.remember_days = remember_days
        self.clock = clock

    def publish_once(self, key: str, subject: str, message: str) -> bool:
        if not self.claims.claim(key, int(self.clock()) + self.remember_days * 86400):
            return False
        try:
            self.topic.publish(subject, message)
        except Exception:
            self._release(key)
            raise
        return True

    def _release(self, key: str) -> None:
        try:
            self.claims.release(key)
        except Exception:
            logger.exception("could not release the idempotency claim; a retry will be treated as a duplicate", extra={"key": key})

    def handle(self, event: Any) -> dict[str, str]:
        try:
            notice = to_notice(event)
        except UnrecognisedEvent as problem:
            return self._unrecognised(event, str(problem))
        if notice is None:
            logger.info("recognised event that is not a finding to report", extra={"event_id": event.get("id")})
            return {"status": "ignored"}
        return self._deliver(notice)

    def _deliver(self, notice: Notice) -> dict[str, str]:
        if self.publish_once(notice.idempotency_key, notice.subject, notice.message):
            logger.info("finding published", extra={"key": notice.idempotency_key, "severity": notice.severity})
            return {"status": "published", "key": notice.idempotency_key}
        logger.info("repeat of a finding already published", extra={"key": notice.idempotency_key})
        return {"status": "duplicate", "key": notice.idempotency_key}

    def _unrecognised(self, event: Any, problem: str) -> dict[str, str]:
        event_id = event.get("id") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id:
            reject(f"not an EventBridge event ({problem})", event)
            return {"status": "rejected", "reason": problem}
        source = str(event.get("source", "?"))
        detail_type = str(event.get("detail-type", "?"))
        # A security event the team must be able to read in full: kept in the log group as delivered.
        logger.error(f"unrecognised security event forwarded as is: {problem}", extra={"event": event, **event_summary(event)})
        key = f"unrecognised#{event_id}"
        subject = f"[UNKNOWN] Unrecognised security event from {source}"[:100]
        message = "\n".join(
            [
                "The findings notifier could not read this event; it is kept in the notifier's log group.",
                f"Source:      {source}",
                f"Detail type: {detail_type}",
                f"Account:     {event.get('account', '?')}",
                f"Region:      {event.get('region', '?')}",
                f"Event id:    {event_id}",
                f"Problem:     {problem}",
            ]
        )
        published = self.publish_once(key, subject, message)
        return {"status": "unrecognised-forwarded" if published else "duplicate", "key": key}
