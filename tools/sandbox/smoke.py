"""End-to-end smoke check of a deployed sandbox, from the deploy's outputs file.

    python -m tools.sandbox.smoke [--outputs cdk.out.sandbox/outputs.json] [--login-requests 120]

HTTP half: the site over HTTPS via CloudFront (TLS 1.2+, the security headers); the ALB refusing a
direct request without the origin header; WAF blocking a SQL-injection probe and rate-limiting the
login path (a bounded number of requests). AWS half: a PHI bucket refusing an upload without SSE-KMS
and one over plain HTTP, and refusing to delete a locked version; CloudTrail logging, Config
recording, GuardDuty enabled, the backup plan present; every alarm of the stage in OK or
INSUFFICIENT_DATA. Records scenario (when a seeded test clinician is given: --clinician and the
MEDIVAULT_SMOKE_PASSWORD / MEDIVAULT_SMOKE_TOTP_SECRET environment variables, --patient): sign in
with MFA, create a record, upload through the presigned URL, read it back through the presigned
GET, try to delete the object version (refused by Object Lock), find the audit rows
(``RecordsScenario``; run locally against PostgreSQL, Redis and moto by
tests/service/test_smoke_scenario.py). Prints PASS/FAIL per check; exits 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tools.sandbox.aws import Aws, error_code
from tools.sandbox.checks import Result, report, run_checks

REGION = "eu-central-1"
# What the response-headers policy adds (constructs/edge_distribution.py), lower-case.
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'self'",
}
# The service's sign-in route (service/medivault_service/auth.py), under the WAF's rate-limited login prefix
# (stacks/config/edge.py login_paths; tests/tools/test_smoke.py keeps the two in step). A GET is answered 405
# by the service, but WAF counts the request by path before it reaches the origin.
LOGIN_PROBE_PATH = "/v1/auth/sign-in"
SQL_INJECTION_PROBE = "/?id=1%27%20OR%20%271%27%3D%271"
TLS_1_2_OR_LATER = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    tls_version: str | None


Fetch = Callable[[str, float], Response]


def https_fetcher(context: ssl.SSLContext | None = None, *, check_hostname: bool = True) -> Fetch:
    """GET over HTTPS with the given trust; records the negotiated TLS version."""

    def fetch(url: str, timeout: float) -> Response:
        parts = urlsplit(url)
        ctx = context or ssl.create_default_context()
        if not check_hostname:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, timeout=timeout, context=ctx)
        try:
            connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), headers={"User-Agent": "medivault-smoke"})
            sock = connection.sock  # read before the response: the server may close the connection
            version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
            answer = connection.getresponse()
            answer.read()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, version)
        finally:
            connection.close()

    return fetch


def totp(secret: str, at: float | None = None) -> str:
    """The current 6-digit code of an authenticator-app secret (RFC 6238, SHA-1, 30 s; Cognito's TOTP)."""
    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    padded = secret + "=" * (-len(secret) % 8)
    key = base64.b32decode(padded, casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(time.time() if at is None else at).decode()  # noqa: S303


def http_json(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    headers = {"User-Agent": "medivault-smoke"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - https (or the local test server)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@dataclass
class RecordsScenario:
    """The end-to-end path of a real user through the records service (issue 17): never logs a token,
    the password or the TOTP secret; the record's content is a fixed marker, not PHI."""

    base_url: str
    username: str
    password: str
    totp_secret: str
    patient_id: str
    s3: Any  # for the delete attempt, with the smoke runner's own credentials
    bucket: str
    timeout: float = 10.0

    def results(self) -> Iterator[Result]:
        base = self.base_url.rstrip("/")
        status, first = http_json("POST", f"{base}/v1/auth/sign-in", {"username": self.username, "password": self.password}, timeout=self.timeout)
        if status != 200:
            yield Result(
                "sign-in", False, f"answered {status} {_code(first)}", "the seeded test clinician and the app client's USER_PASSWORD_AUTH flow"
            )
            return
        if first.get("challenge") == "SOFTWARE_TOKEN_MFA":
            body = {"username": self.username, "session": first["session"], "code": totp(self.totp_secret)}
            status, first = http_json("POST", f"{base}/v1/auth/mfa", body, timeout=self.timeout)
        token = first.get("access_token") if status == 200 and isinstance(first, dict) else None
        yield Result("sign-in with MFA", bool(token), f"answered {status}", "the clinician's TOTP enrolment (MEDIVAULT_SMOKE_TOTP_SECRET)")
        if not token:
            return
        content = f"medivault smoke {uuid.uuid4()}".encode()
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
        status, created = http_json(
            "POST",
            f"{base}/v1/records",
            {
                "patient_id": self.patient_id,
                "kind": "document",
                "title": "smoke",
                "content_type": "text/plain",
                "size_bytes": len(content),
                "sha256": digest,
            },
            token,
            self.timeout,
        )
        yield Result(
            "create a record", status == 201, f"answered {status} {_code(created)}", "a care relationship of the test clinician with --patient"
        )
        if status != 201:
            return
        record_id = created["record"]["id"]
        upload = created["upload"]
        put = urllib.request.Request(upload["url"], data=content, method="PUT", headers=upload["headers"])  # noqa: S310 - presigned S3 URL
        try:
            with urllib.request.urlopen(put, timeout=self.timeout) as answer:  # noqa: S310
                put_status = answer.status
        except urllib.error.HTTPError as error:
            put_status = error.code
        yield Result(
            "upload through the presigned PUT", put_status == 200, f"S3 answered {put_status}", "the bucket policy (SSE-KMS with the data key)"
        )
        status, confirmed = http_json("POST", f"{base}/v1/records/{record_id}/confirm", {}, token, self.timeout)
        yield Result("confirm the upload", status == 200, f"answered {status} {_code(confirmed)}", "the object's size, checksum and Object Lock")
        status, got = http_json("GET", f"{base}/v1/records/{record_id}", None, token, self.timeout)
        url = ((got or {}).get("download") or {}).get("url") if status == 200 else None
        back = b""
        if url:
            with urllib.request.urlopen(url, timeout=self.timeout) as answer:  # noqa: S310 - presigned S3 URL
                back = answer.read()
        yield Result(
            "read back through the presigned GET", back == content, f"{len(back)} of {len(content)} bytes match" if back else f"answered {status}", ""
        )
        version = parse_qs(urlsplit(url).query).get("versionId", [""])[0] if url else ""
        yield Smoke._refused(
            "the record's object version cannot be deleted",
            lambda: self.s3.delete_object(Bucket=self.bucket, Key=f"records/{record_id}", VersionId=version),
        )
        status, audit = http_json("GET", f"{base}/v1/records/{record_id}/audit", None, token, self.timeout)
        actions = [e["action"] for e in (audit or {}).get("events", [])] if status == 200 else []
        expected = ["record.create", "record.confirm", "record.download_url"]
        yield Result("audit rows", actions[:3] == expected, f"events: {', '.join(actions) or status}", "the audit insert of medivault_service.store")


def _code(body: Any) -> str:
    return str(body.get("error", {}).get("code", "")) if isinstance(body, dict) else ""


@dataclass
class Smoke:
    outputs: dict[str, dict[str, str]]
    aws: Aws
    fetch: Fetch = field(default_factory=https_fetcher)
    fetch_alb: Fetch = field(default_factory=lambda: https_fetcher(check_hostname=False))
    login_requests: int = 120
    login_interval: float = 1.0
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    records: RecordsScenario | None = None

    def output(self, key: str) -> str:
        for values in self.outputs.values():
            if key in values:
                return values[key]
        raise KeyError(f"output {key!r} is not in the outputs file (deploy with make deploy-sandbox)")

    # -- HTTP ---------------------------------------------------------------------------------
    def site(self) -> Iterator[Result]:
        url = self.output("SiteUrl")
        answer = self.fetch(url, self.timeout)
        yield Result("site over HTTPS", answer.status < 500, f"{url} answered {answer.status}", "check the ECS service and the ALB target health")
        yield Result(
            "TLS 1.2 or later",
            answer.tls_version in TLS_1_2_OR_LATER,
            f"negotiated {answer.tls_version}",
            "the distribution needs the custom certificate with TLSv1.2_2021 (a domain)",
        )
        missing = [h for h, v in SECURITY_HEADERS.items() if v.lower() not in answer.headers.get(h, "").lower()]
        yield Result(
            "security headers",
            not missing,
            "all present" if not missing else "missing or wrong: " + ", ".join(missing),
            "the response-headers policy (constructs/edge_distribution.py)",
        )

    def alb_direct(self) -> Iterator[Result]:
        url = f"https://{self.output('AlbDnsName')}/"
        try:
            answer = self.fetch_alb(url, self.timeout)
        except (OSError, http.client.HTTPException) as error:  # the ALB admits only CloudFront's prefix list
            yield Result("ALB refuses direct requests", True, f"no connection from here ({type(error).__name__})")
            return
        yield Result(
            "ALB refuses direct requests",
            answer.status == 403,
            f"answered {answer.status} without the origin header",
            "the ALB listener must forward only with the origin header (constructs/cloudfront_only_alb.py)",
        )

    def waf_sql_injection(self) -> Iterator[Result]:
        url = self.output("SiteUrl").rstrip("/") + SQL_INJECTION_PROBE
        status = self.fetch(url, self.timeout).status
        yield Result(
            "WAF blocks SQL injection", status == 403, f"probe answered {status}", "the AWSManagedRulesSQLiRuleSet rule group of the web ACL"
        )

    def waf_login_rate(self) -> Iterator[Result]:
        url = self.output("SiteUrl").rstrip("/") + LOGIN_PROBE_PATH
        for sent in range(1, self.login_requests + 1):
            status = self.fetch(url, self.timeout).status
            if status in (403, 429):
                yield Result("WAF rate-limits the login path", True, f"blocked after {sent} requests")
                return
            self.sleep(self.login_interval)
        yield Result(
            "WAF rate-limits the login path",
            False,
            f"{self.login_requests} requests in about {self.login_requests * self.login_interval:.0f} s were never blocked",
            "the login rate-based rule (stacks/config/edge.py login_rate_limit); WAF may need up to a minute to act",
        )

    # -- AWS ----------------------------------------------------------------------------------
    def phi_bucket(self) -> Iterator[Result]:
        bucket = self.output("PhiBucketNames").split(",")[0]
        s3 = self.aws.client("s3", REGION)
        key = f"smoke/{uuid.uuid4()}.txt"
        for name, call in (
            (
                "PHI bucket refuses an upload without SSE-KMS",
                lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"smoke", ServerSideEncryption="AES256"),
            ),
            ("PHI bucket refuses an upload without encryption", lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"smoke")),
            (
                "PHI bucket refuses plain HTTP",
                lambda: self._plain_http_s3().put_object(Bucket=bucket, Key=key, Body=b"smoke", ServerSideEncryption="aws:kms"),
            ),
        ):
            yield self._refused(name, call)
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        key_id = rules[0]["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID")
        extra = {"SSEKMSKeyId": key_id} if key_id else {}
        version = s3.put_object(Bucket=bucket, Key=key, Body=b"smoke", ServerSideEncryption="aws:kms", **extra)["VersionId"]
        yield self._refused("PHI bucket refuses deleting a locked version", lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version))

    def _plain_http_s3(self) -> Any:
        return self.aws.session.client("s3", region_name=REGION, use_ssl=False, config=Config(s3={"addressing_style": "virtual"}))

    @staticmethod
    def _refused(name: str, call: Callable[[], Any]) -> Result:
        try:
            call()
        except ClientError as error:
            code = error_code(error)
            return Result(name, code in ("AccessDenied", "403"), f"refused ({code})", "the bucket policy / Object Lock of the PHI bucket")
        return Result(name, False, "accepted", "the bucket policy / Object Lock of the PHI bucket (constructs/phi_bucket.py)")

    def audit(self) -> Iterator[Result]:
        trail = self.aws.client("cloudtrail", REGION).get_trail_status(Name=self.output("TrailName"))
        yield Result("CloudTrail logging", bool(trail.get("IsLogging")), f"IsLogging={trail.get('IsLogging')}", "aws cloudtrail start-logging")
        statuses = self.aws.client("config", REGION).describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
        recording = [s["name"] for s in statuses if s.get("recording")]
        yield Result(
            "Config recording",
            bool(recording),
            f"recording: {', '.join(recording) or 'none'}",
            "aws configservice start-configuration-recorder --configuration-recorder-name <name>",
        )
        guardduty = self.aws.client("guardduty", REGION)
        detectors = guardduty.list_detectors()["DetectorIds"]
        enabled = [d for d in detectors if guardduty.get_detector(DetectorId=d).get("Status") == "ENABLED"]
        yield Result("GuardDuty enabled", bool(enabled), f"enabled detectors: {len(enabled)} of {len(detectors)}", "enable GuardDuty in eu-central-1")
        backup = self.aws.client("backup", REGION)
        plan_id = self.output("BackupPlanId")
        try:
            plan = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
            selections = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
            ok, detail = bool(selections), f"{plan['BackupPlanName']}: {len(plan.get('Rules', []))} rules, {len(selections)} selections"
        except ClientError as error:
            ok, detail = False, error_code(error)
        yield Result("backup plan", ok, detail, "redeploy the Backup stack")

    def alarms(self) -> Iterator[Result]:
        topics = {self.output(k) for k in ("AlarmTopicArn", "SecurityTopicArn") if self._has(k)}
        cloudwatch = self.aws.client("cloudwatch", REGION)
        found: list[dict[str, Any]] = []
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            found += [a for a in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])] if topics & set(a.get("AlarmActions", []))]
        alarming = sorted(a["AlarmName"] for a in found if a["StateValue"] not in ("OK", "INSUFFICIENT_DATA"))
        yield Result(
            "alarms",
            bool(found) and not alarming,
            f"{len(found)} alarms, in ALARM: {', '.join(alarming) or 'none'}" if found else "no alarm acts on the stage's topics",
            "look at the alarm's metric on the dashboard (DashboardName in the outputs)",
        )

    def records_scenario(self) -> Iterator[Result]:
        assert self.records is not None
        yield from self.records.results()

    def _has(self, key: str) -> bool:
        return any(key in values for values in self.outputs.values())

    CHECKS = ("site", "alb_direct", "waf_sql_injection", "waf_login_rate", "phi_bucket", "audit", "alarms")

    def results(self) -> list[Result]:
        names = (*self.CHECKS, "records_scenario") if self.records is not None else self.CHECKS
        return run_checks(
            ((name, getattr(self, name)) for name in names),
            errors=(ClientError, BotoCoreError, OSError, http.client.HTTPException, KeyError),
            fix="see the message",
        )


def main(argv: list[str] | None = None, aws: Aws | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, default=Path("cdk.out.sandbox/outputs.json"))
    parser.add_argument("--login-requests", type=int, default=120, help="upper bound of requests to the login path")
    parser.add_argument("--clinician", help="user name of the seeded test clinician (password and TOTP secret from the environment)")
    parser.add_argument("--patient", help="patient id (Cognito sub) the test clinician has a care relationship with")
    args = parser.parse_args(argv)
    if not args.outputs.exists():
        print(f"smoke: {args.outputs} not found: deploy first (make deploy-sandbox ACCOUNT=...)", file=sys.stderr)
        return 2
    aws = aws or Aws()
    outputs = json.loads(args.outputs.read_text())
    smoke = Smoke(outputs, aws, login_requests=args.login_requests)
    if args.clinician:
        password, secret = os.environ.get("MEDIVAULT_SMOKE_PASSWORD", ""), os.environ.get("MEDIVAULT_SMOKE_TOTP_SECRET", "")
        if not (password and secret and args.patient):
            print("smoke: --clinician needs --patient, MEDIVAULT_SMOKE_PASSWORD and MEDIVAULT_SMOKE_TOTP_SECRET", file=sys.stderr)
            return 2
        smoke.records = RecordsScenario(
            smoke.output("SiteUrl"),
            args.clinician,
            password,
            secret,
            args.patient,
            aws.client("s3", REGION),
            smoke.output("PhiBucketNames").split(",")[0],
        )
    return report("smoke", smoke.results())


if __name__ == "__main__":
    sys.exit(main())
