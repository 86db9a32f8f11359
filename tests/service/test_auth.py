"""Access-token verification with a local RSA key pair (no Cognito): signature, issuer, client,
token_use, expiry, groups, JWKS caching and its rate-limited refresh on an unknown kid.

Checks follow https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from medivault_service.auth import JwksCache, TokenVerifier
from medivault_service.errors import ApiError

pytestmark = pytest.mark.requirements("R4", "R5")

ISSUER = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_TestPool1"
CLIENT = "testclient0123456789"
SUBJECT = str(uuid.uuid4())


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER_KEY, ROTATED_KEY = _key(), _key(), _key()


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**entry, "kid": kid, "alg": "RS256", "use": "sig"}


def _token(key: rsa.RSAPrivateKey = KEY, kid: str = "k1", headers: dict[str, Any] | None = None, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": SUBJECT,
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "username": "dr.house",
        "cognito:groups": ["clinician"],
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, **(headers or {})})


class Jwks:
    def __init__(self, *entries: dict[str, Any]) -> None:
        self.entries = list(entries)
        self.calls = 0

    def __call__(self, url: str) -> dict[str, Any]:
        assert url == ISSUER + "/.well-known/jwks.json"
        self.calls += 1
        return {"keys": list(self.entries)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(jwks: Jwks, clock: Clock | None = None) -> TokenVerifier:
    cache = JwksCache(ISSUER + "/.well-known/jwks.json", fetch=jwks, refresh_interval=60, clock=clock or Clock())
    return TokenVerifier(cache, issuer=ISSUER, client_id=CLIENT)


def _verify(verifier: TokenVerifier, token: str) -> Any:
    return asyncio.run(verifier.verify(token))


def test_valid_access_token_gives_subject_and_group() -> None:
    principal = _verify(_verifier(Jwks(_jwk(KEY, "k1"))), _token())
    assert (principal.subject, principal.group, principal.username) == (SUBJECT, "clinician", "dr.house")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (lambda: _token(exp=int(time.time()) - 120), "expired"),
        (lambda: _token(key=OTHER_KEY), "invalid"),  # forged: right kid, wrong key
        (lambda: _token(iss="https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Other"), "invalid"),
        (lambda: _token(client_id="someotherclient"), "another app client"),
        (lambda: _token(token_use="id"), "an access token is required"),
        (lambda: _token(nbf=int(time.time()) + 600), "invalid"),
        (lambda: _token(iat=int(time.time()) + 600), "invalid"),
        (lambda: _token(exp=None), "invalid"),
        (lambda: _token(sub="not-a-uuid"), "subject"),
        (lambda: _token(kid="unknown"), "not signed by this user pool"),
        (lambda: jwt.encode({"sub": SUBJECT}, "secret", algorithm="HS256", headers={"kid": "k1"}), "RS256"),
        (lambda: "not.a.jwt", "malformed"),
        (lambda: _token() + "x", "invalid"),
    ],
)
def test_bad_tokens_are_401(token: Any, message: str) -> None:
    with pytest.raises(ApiError) as refused:
        _verify(_verifier(Jwks(_jwk(KEY, "k1"))), token())
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    assert message in refused.value.message


def test_small_clock_skew_is_tolerated() -> None:
    principal = _verify(_verifier(Jwks(_jwk(KEY, "k1"))), _token(exp=int(time.time()) - 10, iat=int(time.time()) - 3600))
    assert principal.subject == SUBJECT


@pytest.mark.parametrize("groups", [[], ["admin"], ["clinician", "patient"], "clinician"])
def test_no_single_known_group_is_403(groups: Any) -> None:
    with pytest.raises(ApiError) as refused:
        _verify(_verifier(Jwks(_jwk(KEY, "k1"))), _token(**{"cognito:groups": groups}))
    assert (refused.value.status, refused.value.code) == (403, "forbidden")


def test_jwks_is_cached_and_refreshed_on_rotation_at_most_once_a_minute() -> None:
    jwks = Jwks(_jwk(KEY, "k1"))
    clock = Clock()
    verifier = _verifier(jwks, clock)
    for _ in range(3):
        _verify(verifier, _token())
    assert jwks.calls == 1
    # The pool rotates its key: the unknown kid triggers one refetch and the new token verifies.
    jwks.entries.append(_jwk(ROTATED_KEY, "k2"))
    clock.now += 61
    assert _verify(verifier, _token(key=ROTATED_KEY, kid="k2")).subject == SUBJECT
    assert jwks.calls == 2
    # Forged tokens with random kids do not make the service refetch within the interval.
    for _ in range(5):
        with pytest.raises(ApiError):
            _verify(verifier, _token(kid=f"random-{uuid.uuid4()}"))
    assert jwks.calls == 2
    clock.now += 61
    with pytest.raises(ApiError):
        _verify(verifier, _token(kid="random-again"))
    assert jwks.calls == 3


def test_jwks_unreachable_is_503_not_401() -> None:
    def down(url: str) -> dict[str, Any]:
        raise OSError("connection refused")

    verifier = TokenVerifier(JwksCache("https://example.invalid/jwks.json", fetch=down), issuer=ISSUER, client_id=CLIENT)
    with pytest.raises(ApiError) as refused:
        _verify(verifier, _token())
    assert (refused.value.status, refused.value.code) == (503, "auth_unavailable")


# --- sign-in routes where moto cannot play Cognito: a botocore Stubber stands in ----------------
# moto's USER_PASSWORD_AUTH, SOFTWARE_TOKEN_MFA (with real TOTP) and REFRESH_TOKEN_AUTH are used in
# test_records_api.py; throttling and the enrolment challenges are answered here by a stub.


def _stubbed_app(responses: list[tuple[str, Any]]) -> Any:
    import boto3
    from aws_xray_sdk.core import AsyncAWSXRayRecorder
    from botocore.stub import Stubber
    from medivault_service.api import create_app
    from medivault_service.settings import Settings

    from tests.service.conftest import AWS_SETTINGS
    from tests.service.test_readiness import CapturingEmitter

    client = boto3.client("cognito-idp", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for method, answer in responses:
        if isinstance(answer, str):
            stubber.add_client_error(method, service_error_code=answer, http_status_code=400)
        else:
            stubber.add_response(method, answer)
    stubber.activate()
    settings = Settings(
        db_host="127.0.0.1",
        db_port=1,
        db_name="x",
        db_user="medivault_service",
        db_region="eu-central-1",
        db_ca_file="/nonexistent",
        redis_host="127.0.0.1",
        redis_port=1,
        redis_auth_token="x",
        redis_ca_file=None,
        **AWS_SETTINGS,  # type: ignore[arg-type]
    )
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=CapturingEmitter())
    return create_app(settings=settings, rds_client=object(), recorder=recorder, cognito_client=client), stubber


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        ({"ChallengeName": "CUSTOM_CHALLENGE", "Session": "s" * 20, "ChallengeParameters": {}}, 403, "challenge_not_supported"),
        ({"ChallengeName": "SMS_MFA", "Session": "s" * 20, "ChallengeParameters": {}}, 403, "challenge_not_supported"),
        ("TooManyRequestsException", 429, "too_many_attempts"),
        ("PasswordResetRequiredException", 401, "invalid_credentials"),
        ("InternalErrorException", 502, "auth_upstream_error"),
    ],
)
def test_sign_in_answers_for_what_moto_does_not_emulate(answer: Any, status: int, code: str) -> None:
    from starlette.testclient import TestClient

    app, stubber = _stubbed_app([("initiate_auth", answer)])
    with TestClient(app) as http:
        response = http.post("/v1/auth/sign-in", json={"username": "dr.house", "password": "Correct-Horse-42-battery!"})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    stubber.assert_no_pending_responses()


SECRET_CODE = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the TOTP seed Cognito hands out once


def test_first_sign_in_of_an_admin_created_account_completes_through_the_api(caplog: pytest.LogCaptureFixture) -> None:
    """The pool has no domain (no hosted UI), so NEW_PASSWORD_REQUIRED and MFA_SETUP must be answerable here,
    in order, with the calls Cognito documents (RespondToAuthChallenge, AssociateSoftwareToken,
    VerifySoftwareToken); moto does not emulate these challenges, so the client is stubbed. The TOTP seed
    goes to the user once and never into a log line."""
    import logging

    from starlette.testclient import TestClient

    tokens = {"AccessToken": "a" * 40, "IdToken": "i" * 40, "RefreshToken": "r" * 40, "ExpiresIn": 900, "TokenType": "Bearer"}
    app, stubber = _stubbed_app(
        [
            ("initiate_auth", {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s1" * 10, "ChallengeParameters": {}}),
            ("respond_to_auth_challenge", {"ChallengeName": "MFA_SETUP", "Session": "s2" * 10, "ChallengeParameters": {}}),
            ("associate_software_token", {"SecretCode": SECRET_CODE, "Session": "s3" * 10}),
            ("verify_software_token", {"Status": "SUCCESS", "Session": "s4" * 10}),
            ("respond_to_auth_challenge", {"AuthenticationResult": tokens, "ChallengeParameters": {}}),
        ]
    )
    caplog.set_level(logging.DEBUG)
    with TestClient(app) as http:
        first = http.post("/v1/auth/sign-in", json={"username": "dr.new", "password": "Temporary-Pass-1234!"})
        assert first.json() == {"challenge": "NEW_PASSWORD_REQUIRED", "session": "s1" * 10}
        second = http.post("/v1/auth/new-password", json={"username": "dr.new", "session": "s1" * 10, "new_password": "Correct-Horse-42-battery!"})
        assert second.json() == {"challenge": "MFA_SETUP", "session": "s2" * 10}
        setup = http.post("/v1/auth/mfa-setup", json={"session": "s2" * 10})
        assert setup.json() == {"secret_code": SECRET_CODE, "session": "s3" * 10}
        done = http.post("/v1/auth/mfa-setup/verify", json={"username": "dr.new", "session": "s3" * 10, "code": "123456"})
    assert done.status_code == 200 and done.json()["access_token"] == "a" * 40 and done.json()["refresh_token"] == "r" * 40
    stubber.assert_no_pending_responses()
    assert all(SECRET_CODE not in record.getMessage() and SECRET_CODE not in str(record.__dict__) for record in caplog.records)


@pytest.mark.parametrize(
    ("path", "body", "responses", "status", "code"),
    [
        ("/v1/auth/mfa-setup/verify", {"username": "u", "session": "s" * 20, "code": "12345"}, [], 400, "invalid_field"),
        (
            "/v1/auth/mfa-setup/verify",
            {"username": "u", "session": "s" * 20, "code": "123456"},
            [("verify_software_token", {"Status": "ERROR"})],
            401,
            "invalid_mfa_code",
        ),
        (
            "/v1/auth/mfa-setup/verify",
            {"username": "u", "session": "s" * 20, "code": "123456"},
            [("verify_software_token", "EnableSoftwareTokenMFAException")],
            401,
            "invalid_mfa_code",
        ),
        (
            "/v1/auth/new-password",
            {"username": "u", "session": "s" * 20, "new_password": "short"},
            [("respond_to_auth_challenge", "InvalidPasswordException")],
            400,
            "weak_password",
        ),
        ("/v1/auth/new-password", {"username": "u", "session": "", "new_password": "x" * 20}, [], 400, "invalid_field"),
        ("/v1/auth/mfa-setup", {"session": "s" * 20, "extra": 1}, [], 400, None),
    ],
)
def test_enrolment_refuses_bad_input_and_codes(
    path: str, body: dict[str, Any], responses: list[tuple[str, Any]], status: int, code: str | None
) -> None:
    from starlette.testclient import TestClient

    app, stubber = _stubbed_app(responses)
    with TestClient(app) as http:
        response = http.post(path, json=body)
    assert response.status_code == status
    if code is not None:
        assert response.json()["error"]["code"] == code
    stubber.assert_no_pending_responses()
