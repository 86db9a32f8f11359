"""Sign-in (a backend-for-frontend over Cognito's public API) and access-token verification.

Verification follows "Verifying a JSON Web Token" of the Cognito developer guide:
https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
- RS256 signature against the key of the token's ``kid`` from the pool's JWKS
  (``https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json``), fetched once and
  cached; an unknown ``kid`` (key rotation) refetches, at most once per ``refresh_interval``
  so forged tokens with random kids cannot make the service hammer Cognito.
- ``iss`` is the pool's issuer, ``client_id`` (access tokens have no ``aud``) is the app client,
  ``token_use`` is ``access``, ``exp``/``nbf``/``iat`` hold with a small leeway.
- ``cognito:groups`` carries ``clinician`` or ``patient``; the caller's id is ``sub``.

The sign-in routes call InitiateAuth (USER_PASSWORD_AUTH), RespondToAuthChallenge
(SOFTWARE_TOKEN_MFA) and InitiateAuth (REFRESH_TOKEN_AUTH) for an app client without a secret:
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
Passwords, codes and tokens pass through; none is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from botocore.exceptions import ClientError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from medivault_service.errors import ApiError, fields, read_json

log = logging.getLogger("medivault.auth")

GROUPS = ("clinician", "patient")
LEEWAY_SECONDS = 30
# The challenges a sign-in may answer with, each completed by a /v1/auth/ route of this API.
CHALLENGES = ("SOFTWARE_TOKEN_MFA", "NEW_PASSWORD_REQUIRED", "MFA_SETUP")
REFRESH_INTERVAL_SECONDS = 60.0


def fetch_url(url: str, timeout: float = 3.0) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ValueError("JWKS URL must be http(s)")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        data: dict[str, Any] = json.loads(response.read(1_000_000))
    return data


class JwksCache:
    """The pool's signing keys by ``kid``; fetched on first use and on an unknown kid (rate-limited)."""

    def __init__(
        self,
        url: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_url,
        refresh_interval: float = REFRESH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._interval = refresh_interval
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._last_fetch: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < self._interval:
                return None  # refetched a moment ago: this kid is not the pool's
            self._last_fetch = now
            self.fetches += 1
            try:
                document = await run_in_threadpool(self._fetch, self.url)
            except Exception as error:
                log.error("JWKS fetch failed", extra={"error": type(error).__name__})
                raise ApiError(503, "auth_unavailable", "token keys cannot be fetched; try again") from None
            keys: dict[str, Any] = {}
            for entry in document.get("keys", []):
                if isinstance(entry, dict) and entry.get("kty") == "RSA" and entry.get("kid") and entry.get("use", "sig") == "sig":
                    try:
                        keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256").key
                    except jwt.PyJWTError:
                        continue
            self._keys = keys
            return keys.get(kid)


@dataclass(frozen=True)
class Principal:
    subject: str  # Cognito sub (a UUID): the patient id of a patient
    group: str  # clinician or patient
    username: str


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


class TokenVerifier:
    def __init__(self, jwks: JwksCache, *, issuer: str, client_id: str, leeway: int = LEEWAY_SECONDS) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.client_id = client_id
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
        """The caller of a valid access token of this pool and app client; 401 for any bad token, 403 for a bad group."""
        key = await self._signing_key(token)
        claims = self._claims(token, key)
        subject = _subject(claims)
        return Principal(subject=subject, group=_group(claims), username=str(claims.get("username", "")))

    async def _signing_key(self, token: str) -> Any:
        """The pool's RS256 key named by the token's (unverified) header ``kid``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("the access token is malformed") from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise _unauthorized("the access token is not signed with RS256 by a known key")
        key = await self.jwks.key(header["kid"])
        if key is None:
            raise _unauthorized("the access token is not signed by this user pool")
        return key

    def _claims(self, token: str, key: Any) -> dict[str, Any]:
        """The verified claims: signature, issuer, times, and an access token of this app client."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "sub", "token_use", "client_id"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the access token has expired") from None
        except jwt.PyJWTError:
            raise _unauthorized("the access token is invalid") from None
        if claims.get("token_use") != "access":
            raise _unauthorized("an access token is required (not an id or refresh token)")
        if claims.get("client_id") != self.client_id:
            raise _unauthorized("the access token was issued to another app client")
        return claims


def _subject(claims: dict[str, Any]) -> str:
    try:
        return str(uuid.UUID(str(claims["sub"])))
    except ValueError:
        raise _unauthorized("the access token's subject is not a user id") from None


def _group(claims: dict[str, Any]) -> str:
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        groups = []
    known: list[str] = [g for g in groups if g in GROUPS]
    if len(known) != 1:
        # In both groups (or neither) the role would be ambiguous: refuse rather than guess.
        raise ApiError(403, "forbidden", "the account is not in exactly one of the groups clinician or patient")
    return known[0]


async def principal_of(request: Request, *groups: str) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "a Bearer access token is required", {"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(token.strip())
    if groups and principal.group not in groups:
        raise ApiError(403, "forbidden", f"this action is for {' or '.join(groups)} accounts")
    return principal


# --- sign-in routes ---------------------------------------------------------------------------


def _tokens(result: dict[str, Any]) -> dict[str, Any]:
    out = {"access_token": result["AccessToken"], "id_token": result.get("IdToken"), "expires_in": result.get("ExpiresIn"), "token_type": "Bearer"}
    if result.get("RefreshToken"):
        out["refresh_token"] = result["RefreshToken"]
    return out


def _cognito_error(error: ClientError) -> ApiError:
    code = error.response.get("Error", {}).get("Code", "")
    log.info("cognito refused", extra={"cognito_error": code})
    if code in ("NotAuthorizedException", "UserNotFoundException", "PasswordResetRequiredException", "UserNotConfirmedException"):
        # One answer for a wrong user name and a wrong password: no user enumeration.
        return ApiError(401, "invalid_credentials", "the user name, password or token is not accepted")
    if code in ("CodeMismatchException", "ExpiredCodeException", "EnableSoftwareTokenMFAException"):
        return ApiError(401, "invalid_mfa_code", "the MFA code is not accepted")
    if code in ("TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"):
        return ApiError(429, "too_many_attempts", "too many attempts; wait before trying again")
    if code in ("InvalidParameterException",):
        return ApiError(400, "invalid_field", "the sign-in request was refused as malformed")
    if code in ("InvalidPasswordException",):
        return ApiError(400, "weak_password", "the new password does not meet the password policy")
    return ApiError(502, "auth_upstream_error", "the sign-in service did not answer as expected")


async def _call(request: Request, operation: str, **kwargs: Any) -> dict[str, Any]:
    client = request.app.state.cognito
    recorder = request.app.state.recorder
    async with recorder.in_subsegment_async("cognito-idp") as sub:
        if sub is not None:
            sub.namespace = "aws"
            sub.put_annotation("operation", operation)
        try:
            result: dict[str, Any] = await run_in_threadpool(getattr(client, operation), **kwargs)
        except ClientError as error:
            raise _cognito_error(error) from None
    return result


def _challenge_or_tokens(response: dict[str, Any]) -> JSONResponse:
    if "AuthenticationResult" in response:
        return JSONResponse(_tokens(response["AuthenticationResult"]))
    challenge = response.get("ChallengeName")
    # The pool has no domain (no hosted UI: PrivateLink serves only pools without one), so a new user's first
    # sign-in is completed here: NEW_PASSWORD_REQUIRED (an admin-created account) -> /v1/auth/new-password,
    # MFA_SETUP (MFA is required, TOTP only) -> /v1/auth/mfa-setup, then SOFTWARE_TOKEN_MFA -> /v1/auth/mfa.
    if challenge in CHALLENGES:
        return JSONResponse({"challenge": challenge, "session": response["Session"]})
    raise ApiError(403, "challenge_not_supported", f"sign-in needs the {str(challenge)[:40]} step, which this API does not offer")


def _session(body: dict[str, Any]) -> str:
    if not 0 < len(body["session"]) <= 4096:
        raise ApiError(400, "invalid_field", "session has an invalid length")
    return str(body["session"])


def _username(body: dict[str, Any]) -> str:
    if not 0 < len(body["username"]) <= 128:
        raise ApiError(400, "invalid_field", "username has an invalid length")
    return str(body["username"])


def _totp_code(body: dict[str, Any]) -> str:
    if not (len(body["code"]) == 6 and body["code"].isdigit()):
        raise ApiError(400, "invalid_field", "code must be the 6 digits of the authenticator app")
    return str(body["code"])


async def sign_in(request: Request) -> JSONResponse:
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"username": str, "password": str})
    if not 0 < len(body["username"]) <= 128 or not 0 < len(body["password"]) <= 256:
        raise ApiError(400, "invalid_field", "username or password has an invalid length")
    settings = request.app.state.settings
    response = await _call(
        request,
        "initiate_auth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=settings.cognito_client_id,
        AuthParameters={"USERNAME": body["username"], "PASSWORD": body["password"]},
    )
    return _challenge_or_tokens(response)


async def mfa(request: Request) -> JSONResponse:
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"username": str, "session": str, "code": str})
    code = _totp_code(body)
    session, username = _session(body), _username(body)
    settings = request.app.state.settings
    response = await _call(
        request,
        "respond_to_auth_challenge",
        ClientId=settings.cognito_client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=session,
        ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code},
    )
    return _challenge_or_tokens(response)


async def refresh(request: Request) -> JSONResponse:
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"refresh_token": str})
    if not 0 < len(body["refresh_token"]) <= 8192:
        raise ApiError(400, "invalid_field", "refresh_token has an invalid length")
    settings = request.app.state.settings
    response = await _call(
        request,
        "initiate_auth",
        AuthFlow="REFRESH_TOKEN_AUTH",
        ClientId=settings.cognito_client_id,
        AuthParameters={"REFRESH_TOKEN": body["refresh_token"]},
    )
    return _challenge_or_tokens(response)


async def new_password(request: Request) -> JSONResponse:
    """First sign-in of an admin-created account: the temporary password is replaced (the pool's password
    policy applies: Cognito refuses a weak one with InvalidPasswordException -> 400)."""
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"username": str, "session": str, "new_password": str})
    if not 0 < len(body["new_password"]) <= 256:
        raise ApiError(400, "invalid_field", "new_password has an invalid length")
    response = await _call(
        request,
        "respond_to_auth_challenge",
        ClientId=request.app.state.settings.cognito_client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=_session(body),
        ChallengeResponses={"USERNAME": _username(body), "NEW_PASSWORD": body["new_password"]},
    )
    return _challenge_or_tokens(response)


async def mfa_setup(request: Request) -> JSONResponse:
    """MFA_SETUP, step 1: a TOTP secret for the user's authenticator app (answered once, never logged)."""
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"session": str})
    response = await _call(request, "associate_software_token", Session=_session(body))
    return JSONResponse({"secret_code": response["SecretCode"], "session": response["Session"]})


async def mfa_setup_verify(request: Request) -> JSONResponse:
    """MFA_SETUP, step 2: the first code from the app proves the enrolment; the sign-in then completes."""
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"username": str, "session": str, "code": str})
    username, code = _username(body), _totp_code(body)
    verified = await _call(request, "verify_software_token", Session=_session(body), UserCode=code, FriendlyDeviceName="authenticator")
    if verified.get("Status") != "SUCCESS" or not verified.get("Session"):
        raise ApiError(401, "invalid_mfa_code", "the MFA code is not accepted")
    response = await _call(
        request,
        "respond_to_auth_challenge",
        ClientId=request.app.state.settings.cognito_client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": username},
    )
    return _challenge_or_tokens(response)
