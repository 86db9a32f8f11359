"""The MediVault sign-in directory: a Cognito user pool and the one public app client (issue 17).

- Plus feature plan with threat protection (compromised credentials blocked at sign-in, sign-up
  and password change; adaptive authentication blocks high-risk sign-ins). Threat protection is
  only in Plus (Cognito developer guide, "Advanced security with threat protection"); cdk-nag 3
  checks the plan (AwsSolutions-COG8), not the add-on mode.
- MFA required, TOTP only: no SMS (SIM-swap and toll fraud, and no SNS role), no e-mail OTP.
- Nobody signs themselves up: clinicians are created by an administrator, and so are patients.
  Assumption: patients are enrolled by their practice, where their identity is checked against
  the patient record; open self-registration would let anyone create an account and then try to
  claim a patient's records, and would bill every such account as a monthly active user.
- Account recovery by verified e-mail only; case-insensitive user names (sign-in with e-mail).
- No user pool domain, ever: a pool with a domain is unusable through the cognito-idp interface
  endpoint (Cognito developer guide, "Access Amazon Cognito using an interface endpoint", notes
  1-3), and the service signs users in through that endpoint with InitiateAuth.
- The app client has no secret (web/mobile), allows USER_PASSWORD_AUTH and refresh only, no OAuth
  flows, hides whether a user exists, and revokes refresh tokens (and their access tokens).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct
from constructs.traceability import trace

GROUPS: dict[str, tuple[int, str]] = {
    # name: (precedence, description); the lower precedence wins in cognito:preferred_role.
    "clinician": (10, "Clinicians: see the records of patients they have a care relationship with"),
    "patient": (20, "Patients: see their own records only"),
}
THREAT_PROTECTION = {
    "FULL_FUNCTION": cognito.StandardThreatProtectionMode.FULL_FUNCTION,
    "AUDIT_ONLY": cognito.StandardThreatProtectionMode.AUDIT_ONLY,
}


@dataclass(frozen=True, kw_only=True)
class UserPoolSettings:
    name: str
    threat_protection: str  # FULL_FUNCTION or AUDIT_ONLY
    password_min_length: int
    temporary_password_days: int
    access_token_minutes: int
    id_token_minutes: int
    refresh_token_hours: int
    auth_session_minutes: int
    deletion_protection: bool
    removal_policy: cdk.RemovalPolicy

    def __post_init__(self) -> None:
        if self.threat_protection not in THREAT_PROTECTION:
            raise ValueError(f"UserPoolSettings.threat_protection: {self.threat_protection!r}; allowed: {', '.join(THREAT_PROTECTION)}")


class MediVaultUserPool(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: UserPoolSettings) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=settings.name,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=THREAT_PROTECTION[settings.threat_protection],
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # An e-mail change takes effect only once the new address is verified.
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(email=cognito.StandardAttribute(required=True, mutable=True)),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False, email=False),
            enable_sms_role=False,
            password_policy=cognito.PasswordPolicy(
                min_length=settings.password_min_length,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(settings.temporary_password_days),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=settings.deletion_protection,
            removal_policy=settings.removal_policy,
        )
        # Compromised credentials: blocked wherever a password is presented. Adaptive authentication:
        # high risk blocked, medium and low risk asked for MFA (required anyway; the action is explicit).
        # No notification e-mails (they need an SES identity; the pool uses Cognito's default e-mail).
        self.risk_configuration = cognito.CfnUserPoolRiskConfigurationAttachment(
            self,
            "RiskConfiguration",
            user_pool_id=self.user_pool.user_pool_id,
            client_id="ALL",
            compromised_credentials_risk_configuration=cognito.CfnUserPoolRiskConfigurationAttachment.CompromisedCredentialsRiskConfigurationTypeProperty(
                actions=cognito.CfnUserPoolRiskConfigurationAttachment.CompromisedCredentialsActionsTypeProperty(event_action="BLOCK"),
                event_filter=["SIGN_IN", "PASSWORD_CHANGE", "SIGN_UP"],
            ),
            account_takeover_risk_configuration=cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverRiskConfigurationTypeProperty(
                actions=cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverActionsTypeProperty(
                    high_action=_takeover_action("BLOCK"),
                    medium_action=_takeover_action("MFA_REQUIRED"),
                    low_action=_takeover_action("MFA_REQUIRED"),
                )
            ),
        )
        self.groups = {
            name: cognito.UserPoolGroup(self, name.capitalize(), user_pool=self.user_pool, group_name=name, precedence=precedence, description=text)
            for name, (precedence, text) in GROUPS.items()
        }
        self.client = self.user_pool.add_client(
            "AppClient",
            user_pool_client_name=f"{settings.name}-app",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=cdk.Duration.minutes(settings.access_token_minutes),
            id_token_validity=cdk.Duration.minutes(settings.id_token_minutes),
            refresh_token_validity=cdk.Duration.hours(settings.refresh_token_hours),
            auth_session_validity=cdk.Duration.minutes(settings.auth_session_minutes),
        )
        trace(
            self,
            ["R3", "R9"],
            ["security"],
            "Cognito (Plus, threat protection enforced) with TOTP MFA required, a strong password policy, "
            "admin-created users only and a secretless client limited to password and refresh sign-in.",
        )


def _takeover_action(event_action: str) -> cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverActionTypeProperty:
    return cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverActionTypeProperty(event_action=event_action, notify=False)
