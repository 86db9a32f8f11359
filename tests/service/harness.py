"""The records service's world for tests, the benchmark and the local smoke scenario: moto in
server mode (a real HTTP endpoint, so presigned URLs are used with a plain HTTP client) for S3,
KMS and Cognito; PostgreSQL and Redis come from tests/service/conftest.py (or the benchmark's own).

moto gaps this harness works around, each named where it is used:
- Multipart uploads: moto does not apply the bucket's default Object Lock retention to an object
  made by CompleteMultipartUpload (S3 does: the default retention applies to every new object
  version). ``S3WithDefaultRetentionOnComplete`` applies it after completion, as S3 would.
- moto does not verify SigV4 signatures, Content-Length or x-amz-checksum-sha256 of presigned
  requests; the service's confirm step (HEAD: size and checksum) is what catches a wrong upload
  here, and the signed header list of each URL is asserted separately.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import boto3
from botocore.config import Config
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

REGION = "eu-central-1"
PASSWORD = "Correct-Horse-42-battery!"  # meets the pool's policy below
STAND_IN_TOKEN = "stand-in-for-an-iam-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def aws_kwargs(endpoint: str) -> dict[str, Any]:
    return {"region_name": REGION, "endpoint_url": endpoint, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}), **aws_kwargs(endpoint))


def totp_code(secret: str, at: float | None = None) -> str:
    padded = secret + "=" * (-len(secret) % 8)
    # RFC 6238 with SHA-1, as Cognito's authenticator-app TOTP is defined.
    totp = TOTP(base64.b32decode(padded, casefold=True), 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303
    return totp.generate(at if at is not None else time.time()).decode()


@dataclass
class User:
    username: str
    group: str
    subject: str
    display_name: str
    totp_secret: str | None = None


@dataclass
class World:
    endpoint: str
    pool_id: str
    client_id: str
    key_arn: str
    records_bucket: str
    imaging_bucket: str
    users: dict[str, User] = field(default_factory=dict)

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    def env(self) -> dict[str, str]:
        """The environment contract of the task, pointed at moto."""
        return {
            "AWS_REGION": REGION,
            "COGNITO_REGION": REGION,
            "COGNITO_USER_POOL_ID": self.pool_id,
            "COGNITO_CLIENT_ID": self.client_id,
            "COGNITO_JWKS_URL": self.jwks_url,
            "RECORDS_BUCKET": self.records_bucket,
            "IMAGING_BUCKET": self.imaging_bucket,
            "DATA_KEY_ARN": self.key_arn,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def settings_kwargs(self) -> dict[str, Any]:
        return {
            "aws_region": REGION,
            "cognito_region": REGION,
            "cognito_user_pool_id": self.pool_id,
            "cognito_client_id": self.client_id,
            "cognito_jwks_url": self.jwks_url,
            "records_bucket": self.records_bucket,
            "imaging_bucket": self.imaging_bucket,
            "data_key_arn": self.key_arn,
        }


def _bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}}
    )


def build_world(endpoint: str) -> World:
    """KMS key, two Object-Lock buckets, a user pool (MFA optional, TOTP), an app client without a
    secret, the two groups and four users (clinician with TOTP enrolled, two patients, a clinician
    without a care relationship)."""
    suffix = uuid.uuid4().hex[:10]
    kms = boto3.client("kms", **aws_kwargs(endpoint))
    key_arn = kms.create_key(Description="medivault data key (test)")["KeyMetadata"]["Arn"]
    s3 = s3_client(endpoint)
    records, imaging = f"medivault-records-{suffix}", f"medivault-imaging-{suffix}"
    _bucket(s3, records)
    _bucket(s3, imaging)
    idp = boto3.client("cognito-idp", **aws_kwargs(endpoint))
    pool_id = idp.create_user_pool(
        PoolName=f"medivault-{suffix}",
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
        MfaConfiguration="OPTIONAL",
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for group in ("clinician", "patient"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    world = World(endpoint, pool_id, client_id, key_arn, records, imaging)
    for username, group, name in (
        ("dr.house", "clinician", "Gregory House"),
        ("pat.one", "patient", "Patricia Onewell"),
        ("pat.two", "patient", "Peter Twofold"),
        ("dr.other", "clinician", "Olga Otherward"),
    ):
        idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        attributes = idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
        subject = next(a["Value"] for a in attributes if a["Name"] == "sub")
        world.users[username] = User(username, group, subject, name)
    # TOTP enrolment of the clinician, as the app would do it after the first sign-in.
    tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "dr.house", "PASSWORD": PASSWORD})[
        "AuthenticationResult"
    ]
    secret = idp.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
    idp.verify_software_token(AccessToken=tokens["AccessToken"], UserCode=totp_code(secret))
    idp.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    world.users["dr.house"].totp_secret = secret
    return world


async def seed_database(connection: asyncpg.Connection, world: World) -> None:
    """Profiles of all four users and one care relationship (dr.house → pat.one), as the master user."""
    for user in world.users.values():
        await connection.execute(
            "INSERT INTO phi.profiles (subject, kind, display_name) VALUES ($1, $2, $3)", uuid.UUID(user.subject), user.group, user.display_name
        )
    await connection.execute(
        "INSERT INTO phi.care_relationships (clinician, patient) VALUES ($1, $2)",
        uuid.UUID(world.users["dr.house"].subject),
        uuid.UUID(world.users["pat.one"].subject),
    )


class S3WithDefaultRetentionOnComplete:
    """The moto gap named in the module docstring: after CompleteMultipartUpload, apply the bucket's
    default retention to the new version, as S3 itself does. Every other call goes to moto as is."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def complete_multipart_upload(self, **kwargs: Any) -> Any:
        result = self._client.complete_multipart_upload(**kwargs)
        rule = self._client.get_object_lock_configuration(Bucket=kwargs["Bucket"])["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=rule["Days"])
        self._client.put_object_retention(
            Bucket=kwargs["Bucket"], Key=kwargs["Key"], VersionId=result["VersionId"], Retention={"Mode": rule["Mode"], "RetainUntilDate": until}
        )
        return result


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


ROOT = Path(__file__).resolve().parents[2]


def process_env(
    world: World, *, port: int, db_host: str, db_port: int, db_name: str, ca_file: str, redis_host: str, redis_port: int, redis_token: str
) -> dict[str, str]:
    """The task's environment contract for a service process pointed at local servers and moto."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "service"),
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "DB_HOST": db_host,
        "DB_PORT": str(db_port),
        "DB_NAME": db_name,
        "DB_USER": "medivault_service",
        "DB_REGION": REGION,
        "DB_CA_FILE": ca_file,
        "REDIS_HOST": redis_host,
        "REDIS_PORT": str(redis_port),
        "REDIS_AUTH_TOKEN": redis_token,
        "REDIS_CA_FILE": ca_file,
        "BENCH_DB_TOKEN": STAND_IN_TOKEN,
        "AWS_XRAY_SDK_ENABLED": "true",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{free_port()}",  # UDP to nowhere, as cheap as to the sidecar
        **world.env(),
    }


def start_service_process(env: dict[str, str], log: Path, cpu: int | None = None) -> subprocess.Popen[bytes]:
    """``python service/bench.py serve`` (the task's uvicorn model, stand-in DB token), optionally
    pinned to one CPU with taskset; returns once /healthz answers."""
    command = [sys.executable, str(ROOT / "service" / "bench.py"), "serve"]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{env['PORT']}/healthz", timeout=1) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"service process did not start: {log.read_text(errors='replace')[-2000:]}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
