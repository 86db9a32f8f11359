"""Identity settings (issue 17, sign-in): the Cognito user pool, its app client and its WAF web ACL.

Feature plan: PLUS. Threat protection (compromised-credential checks, adaptive authentication) is
only in the Plus plan (Cognito developer guide, "Advanced security with threat protection" and
"User pool feature plans"), and cdk-nag 3's AwsSolutions-COG8 requires it. Plus has no free tier:
every monthly active user is billed (aws.amazon.com/cognito/pricing: 0.020 USD per MAU on Plus,
Essentials 0.015 USD after 10,000 free MAUs, Lite 0.0055 USD).

Token lifetimes: access and ID tokens 15-60 minutes (the service verifies them itself and cannot
revoke an access token early beyond Cognito's revocation), refresh tokens bounded to 30 days.
WAF limits follow AWS WAF's rate-based statement (minimum 10 per window; window 60/120/300/600 s),
the same constants as the edge web ACL (stacks/config/edge.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.edge import WAF_EVALUATION_WINDOWS, WAF_MAX_RATE_LIMIT, WAF_MIN_RATE_LIMIT
from stacks.config.errors import ConfigError, require_one_of, require_range

FEATURE_PLANS = ("PLUS",)
THREAT_PROTECTION_MODES = ("FULL_FUNCTION", "AUDIT_ONLY")
# Cognito accepts a minimum password length of 6-99 characters; below 12 is not a strong policy.
PASSWORD_MIN_LENGTH = (12, 99)
TOKEN_MINUTES = (15, 60)
REFRESH_TOKEN_HOURS = (1, 30 * 24)
# Cognito: the authentication session (MFA challenge) lasts 3-15 minutes.
AUTH_SESSION_MINUTES = (3, 15)
TEMPORARY_PASSWORD_DAYS = (1, 7)


@dataclass(frozen=True, kw_only=True)
class IdentityConfig:
    feature_plan: str = "PLUS"
    threat_protection: str = "FULL_FUNCTION"
    password_min_length: int = 14
    # An admin-created user's temporary password expires after this many days (then an admin resets it).
    temporary_password_days: int = 3
    access_token_minutes: int = 15
    id_token_minutes: int = 15
    # A clinician's shift: sign in once with MFA, refresh silently for 12 hours, then sign in again.
    refresh_token_hours: int = 12
    auth_session_minutes: int = 3
    # Production: Cognito refuses DeleteUserPool until this is turned off (deletion protection).
    deletion_protection: bool
    # Cognito API requests per client IP per window that arrive from outside the VPC (anyone who
    # calls cognito-idp directly with our public client ID) to the sign-in operations.
    auth_rate_limit: int = 100
    auth_evaluation_window_seconds: int = 300
    # The same operations from inside the VPC (the service's tasks sign every user in, so one task
    # IP carries many users): a brake on a runaway task, far above the public per-IP limit.
    service_auth_rate_limit: int = 5000
    service_auth_evaluation_window_seconds: int = 300

    def validate(self, is_production: bool) -> None:
        require_one_of("identity.feature_plan", self.feature_plan, FEATURE_PLANS)
        require_one_of("identity.threat_protection", self.threat_protection, THREAT_PROTECTION_MODES)
        if is_production and self.threat_protection != "FULL_FUNCTION":
            raise ConfigError("identity.threat_protection", f"{self.threat_protection} only audits in production", "FULL_FUNCTION in production")
        require_range("identity.password_min_length", self.password_min_length, *PASSWORD_MIN_LENGTH)
        require_range("identity.temporary_password_days", self.temporary_password_days, *TEMPORARY_PASSWORD_DAYS)
        require_range("identity.access_token_minutes", self.access_token_minutes, *TOKEN_MINUTES)
        require_range("identity.id_token_minutes", self.id_token_minutes, *TOKEN_MINUTES)
        require_range("identity.refresh_token_hours", self.refresh_token_hours, *REFRESH_TOKEN_HOURS)
        if self.refresh_token_hours * 60 <= self.access_token_minutes:
            raise ConfigError(
                "identity.refresh_token_hours",
                f"{self.refresh_token_hours} h is not longer than the access token ({self.access_token_minutes} min)",
                "longer than identity.access_token_minutes (Cognito rejects it otherwise)",
            )
        require_range("identity.auth_session_minutes", self.auth_session_minutes, *AUTH_SESSION_MINUTES)
        if not isinstance(self.deletion_protection, bool):
            raise ConfigError("identity.deletion_protection", f"{self.deletion_protection!r} is not a boolean", "True or False")
        if is_production and not self.deletion_protection:
            raise ConfigError("identity.deletion_protection", "off in production", "True in production")
        for key, limit, window in (
            ("identity.auth_rate_limit", self.auth_rate_limit, self.auth_evaluation_window_seconds),
            ("identity.service_auth_rate_limit", self.service_auth_rate_limit, self.service_auth_evaluation_window_seconds),
        ):
            require_range(key, limit, WAF_MIN_RATE_LIMIT, WAF_MAX_RATE_LIMIT)
            require_one_of(key.replace("rate_limit", "evaluation_window_seconds"), window, WAF_EVALUATION_WINDOWS)
        public = self.auth_rate_limit / self.auth_evaluation_window_seconds
        service = self.service_auth_rate_limit / self.service_auth_evaluation_window_seconds
        if service <= public:
            raise ConfigError(
                "identity.service_auth_rate_limit",
                "the in-VPC limit is not above the public per-IP limit (one task signs in many users)",
                "a higher rate than identity.auth_rate_limit per second",
            )


PRODUCTION = IdentityConfig(deletion_protection=True)
# The sandbox rehearses production's pool (same plan and enforcement) but can be torn down.
SANDBOX = IdentityConfig(deletion_protection=False)
