"""tools/sandbox/smoke.py. HTTP half against a TLS server on 127.0.0.1 started by the test (self-signed
certificate made here, trusted only by the test's SSL context); AWS half with moto (S3 Object Lock,
CloudTrail, Config, GuardDuty, CloudWatch alarms, Backup plans) and botocore Stubber where moto does not
behave like AWS: moto does not evaluate bucket policies, so the PHI bucket's refusal of an upload without
SSE-KMS or over plain HTTP (aws:SecureTransport) is stubbed as S3 answers it (AccessDenied); moto has no
backup selections (CreateBackupSelection not implemented), so the plan's two reads are stubbed too.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from tools.sandbox import smoke
from tools.sandbox.aws import Aws

REGION = "eu-central-1"
HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'",
}


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


class Edge(http.server.BaseHTTPRequestHandler):
    """Behaves like CloudFront + WAF + the ALB rule, or (``broken``) like a misconfigured edge."""

    broken = False
    login_limit = 10
    logins = 0

    def do_GET(self) -> None:
        cls = type(self)
        if self.path == "/alb/":  # a direct ALB request: no origin header
            status = 200 if cls.broken else 403
        elif "%27" in self.path and not cls.broken:
            status = 403
        elif self.path.startswith("/v1/auth/"):
            cls.logins += 1
            status = 403 if cls.logins > cls.login_limit and not cls.broken else 200
        else:
            status = 200
        self.send_response(status)
        for header, value in ({} if cls.broken else HEADERS).items():
            self.send_header(header, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    cert, key = _certificate(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Edge)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Edge.broken, Edge.logins = False, 0
    client = ssl.create_default_context(cafile=str(cert))
    yield f"https://127.0.0.1:{server.server_address[1]}", client
    server.shutdown()
    server.server_close()


def _http_smoke(base: str, client: ssl.SSLContext, **kwargs: Any) -> smoke.Smoke:
    outputs = {"Sandbox-Edge": {"SiteUrl": base + "/"}, "Sandbox-App": {"AlbDnsName": base.removeprefix("https://") + "/alb"}}
    check = smoke.Smoke(outputs, Aws(boto3.Session(region_name=REGION)), fetch=smoke.https_fetcher(client), sleep=lambda _: None, **kwargs)
    check.fetch_alb = lambda url, timeout: check.fetch(url.rstrip("/") + "/", timeout)
    return check


def test_http_half_passes_against_a_correct_edge(edge: tuple[str, ssl.SSLContext]) -> None:
    base, client = edge
    check = _http_smoke(base, client, login_requests=30)
    results = [*check.site(), *check.alb_direct(), *check.waf_sql_injection(), *check.waf_login_rate()]
    assert all(r.ok for r in results), [r.line() for r in results]
    by_name = {r.name: r for r in results}
    assert by_name["TLS 1.2 or later"].detail in ("negotiated TLSv1.2", "negotiated TLSv1.3")
    assert by_name["WAF rate-limits the login path"].detail == "blocked after 11 requests"
    assert by_name["ALB refuses direct requests"].detail == "answered 403 without the origin header"


def test_http_half_fails_against_a_broken_edge_within_the_request_bound(edge: tuple[str, ssl.SSLContext]) -> None:
    base, client = edge
    Edge.broken = True
    check = _http_smoke(base, client, login_requests=15)
    results = {r.name: r for r in [*check.site(), *check.alb_direct(), *check.waf_sql_injection(), *check.waf_login_rate()]}
    assert results["site over HTTPS"].ok  # it answers...
    assert not results["security headers"].ok and "strict-transport-security" in results["security headers"].detail
    assert not results["ALB refuses direct requests"].ok
    assert not results["WAF blocks SQL injection"].ok
    assert not results["WAF rate-limits the login path"].ok
    assert Edge.logins == 15  # bounded: never more than login_requests


def test_an_unreachable_alb_counts_as_refused(edge: tuple[str, ssl.SSLContext]) -> None:
    base, client = edge
    check = _http_smoke(base, client)
    check.outputs["Sandbox-App"]["AlbDnsName"] = "127.0.0.1:9"  # nothing listens (the ALB admits only CloudFront)
    check.fetch_alb = smoke.https_fetcher(check_hostname=False)
    [result] = list(check.alb_direct())
    assert result.ok and result.detail.startswith("no connection from here")


def _aws_world(alarm_state: str = "OK") -> tuple[smoke.Smoke, Stubber]:
    session = boto3.Session(region_name=REGION)
    s3 = session.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="medivault-sandbox-records", CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket="medivault-sandbox-records",
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
    )
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(
        Bucket="medivault-sandbox-records",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]},
    )
    trail_bucket = "medivault-sandbox-trail"
    s3.create_bucket(Bucket=trail_bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    trail = session.client("cloudtrail", region_name=REGION)
    trail.create_trail(Name="medivault-sandbox", S3BucketName=trail_bucket, IsMultiRegionTrail=True)
    trail.start_logging(Name="medivault-sandbox")
    config = session.client("config", region_name=REGION)
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config"})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": trail_bucket})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    session.client("guardduty", region_name=REGION).create_detector(Enable=True)
    plan = "0d5f6b7c-8a9b-4c1d-9e2f-3a4b5c6d7e8f"
    backup = Stubber(session.client("backup", region_name=REGION))  # moto: no CreateBackupSelection / ListBackupSelections
    backup.add_response(
        "get_backup_plan",
        {
            "BackupPlan": {
                "BackupPlanName": "medivault-sandbox",
                "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "medivault-sandbox-primary"}],
            }
        },
        {"BackupPlanId": plan},
    )
    selection = {"SelectionId": "s", "SelectionName": "phi", "BackupPlanId": plan, "IamRoleArn": "arn:aws:iam::123456789012:role/backup"}
    backup.add_response("list_backup_selections", {"BackupSelectionsList": [selection]}, {"BackupPlanId": plan})
    backup.activate()
    topic = session.client("sns", region_name=REGION).create_topic(Name="ops")["TopicArn"]
    cloudwatch = session.client("cloudwatch", region_name=REGION)
    for name in ("medivault-sandbox-alb-5xx", "medivault-sandbox-aurora-cpu"):
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="m", Namespace="n", Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic],
        )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName="medivault-sandbox-alb-5xx", StateValue=alarm_state, StateReason="test")
    cloudwatch.put_metric_alarm(
        AlarmName="someone-elses", MetricName="m", Namespace="n", Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName="someone-elses", StateValue="ALARM", StateReason="not ours")

    # moto does not evaluate the bucket policy: stub the two refusals S3 makes (and let the rest reach moto).
    policy = Stubber(session.client("s3", region_name=REGION))
    for _ in range(2):
        policy.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
    plain = Stubber(session.client("s3", region_name=REGION, use_ssl=False))
    plain.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
    plain.activate()
    outputs = {
        "Sandbox-Data": {"PhiBucketNames": "medivault-sandbox-records,medivault-sandbox-imaging"},
        "Sandbox-Audit": {"TrailName": "medivault-sandbox", "SecurityTopicArn": "arn:aws:sns:eu-central-1:123456789012:security"},
        "Sandbox-Observability": {"AlarmTopicArn": topic, "DashboardName": "medivault-sandbox"},
        "Sandbox-Backup": {"BackupPlanId": plan},
    }
    check = smoke.Smoke(outputs, Aws(session, {("backup", REGION): backup.client}))
    check._plain_http_s3 = lambda: plain.client  # type: ignore[method-assign]
    return check, policy


class _Split:
    """put_object goes to the stubbed client first (the policy's refusals), everything else to moto."""

    def __init__(self, stubbed: Any, real: Any) -> None:
        self.stubbed, self.real, self.refusals = stubbed, real, 2

    def put_object(self, **kwargs: Any) -> Any:
        if self.refusals:
            self.refusals -= 1
            return self.stubbed.put_object(**kwargs)
        return self.real.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@mock_aws
@pytest.mark.usefixtures("aws_credentials")
def test_aws_half_passes_on_a_healthy_sandbox() -> None:
    check, policy = _aws_world()
    policy.activate()
    check.aws._clients[("s3", REGION)] = _Split(policy.client, boto3.client("s3", region_name=REGION))
    results = {r.name: r for r in [*check.phi_bucket(), *check.audit(), *check.alarms()]}
    assert all(r.ok for r in results.values()), [r.line() for r in results.values()]
    # The locked-version refusal is moto's own Object Lock (GOVERNANCE, no bypass header).
    assert results["PHI bucket refuses deleting a locked version"].detail == "refused (AccessDenied)"
    assert results["alarms"].detail == "2 alarms, in ALARM: none"  # only the stage's alarms count
    assert results["backup plan"].detail == "medivault-sandbox: 1 rules, 1 selections"


@mock_aws
@pytest.mark.usefixtures("aws_credentials")
def test_aws_half_fails_when_something_is_off() -> None:
    check, _ = _aws_world(alarm_state="ALARM")
    boto3.client("cloudtrail", region_name=REGION).stop_logging(Name="medivault-sandbox")
    boto3.client("config", region_name=REGION).stop_configuration_recorder(ConfigurationRecorderName="default")
    results = {r.name: r for r in [*check.phi_bucket(), *check.audit(), *check.alarms()]}
    # Unstubbed, moto accepts the uploads a real PHI bucket refuses: the check must say so.
    assert not results["PHI bucket refuses an upload without SSE-KMS"].ok
    assert results["PHI bucket refuses an upload without SSE-KMS"].detail == "accepted"
    assert not results["CloudTrail logging"].ok and not results["Config recording"].ok
    assert not results["alarms"].ok and "medivault-sandbox-alb-5xx" in results["alarms"].detail


def test_main_needs_the_outputs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--outputs", str(tmp_path / "none.json")]) == 2
    assert "deploy first" in capsys.readouterr().err
    (tmp_path / "outputs.json").write_text(json.dumps({}))
    check = smoke.Smoke({}, Aws(boto3.Session(region_name=REGION)))
    with pytest.raises(KeyError, match="SiteUrl"):
        check.output("SiteUrl")


def test_records_scenario_needs_the_test_clinicians_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario itself runs end to end in tests/service/test_smoke_scenario.py (PostgreSQL, Redis, moto)."""
    monkeypatch.delenv("MEDIVAULT_SMOKE_PASSWORD", raising=False)
    monkeypatch.delenv("MEDIVAULT_SMOKE_TOTP_SECRET", raising=False)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Edge": {"SiteUrl": "https://example.invalid"}}))
    assert smoke.main(["--outputs", str(outputs), "--clinician", "smoke.clinician"], aws=Aws(boto3.Session(region_name=REGION))) == 2
    assert "MEDIVAULT_SMOKE_PASSWORD" in capsys.readouterr().err
    # RFC 6238 test vector (SHA-1, 8 digits there; Cognito uses 6: the last six digits of 94287082).
    import base64

    assert smoke.totp(base64.b32encode(b"12345678901234567890").decode(), at=59) == "287082"


def test_the_login_probe_hits_a_rate_limited_path_that_the_service_serves() -> None:
    """The smoke probe must exercise the WAF's login rule on the service's real sign-in route."""
    from medivault_service.api import ROUTES

    from stacks.config.edge import EdgeConfig
    from tools.sandbox.smoke import LOGIN_PROBE_PATH

    assert any(LOGIN_PROBE_PATH.startswith(prefix) for prefix in EdgeConfig().login_paths)
    assert LOGIN_PROBE_PATH in {route.path for route in ROUTES}
