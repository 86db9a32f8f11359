"""Sign-in (issue 17): the Cognito user pool, its public app client and the user pool's WAF web ACL.

Stateful: the pool holds the users and their TOTP secrets, which no backup restores (Cognito has
no export of password hashes or MFA secrets), so production retains it, keeps deletion protection
on and gets termination protection. The service reaches the pool's API through the cognito-idp
interface endpoint of the Network stack (constructs/three_tier_vpc.py).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.log_retention import retention
from constructs.user_pool import MediVaultUserPool, UserPoolSettings
from constructs.user_pool_web_acl import UserPoolWebAcl, UserPoolWebAclSettings

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig


class IdentityStack(MediVaultStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, logs_key: kms.IKey) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="Cognito user pool (TOTP MFA, threat protection), app client, WAF web ACL",
            stateful=True,
        )
        identity = config.identity
        name = f"medivault-{config.name}"
        pool = MediVaultUserPool(
            self,
            "Identity",
            settings=UserPoolSettings(
                name=name,
                threat_protection=identity.threat_protection,
                password_min_length=identity.password_min_length,
                temporary_password_days=identity.temporary_password_days,
                access_token_minutes=identity.access_token_minutes,
                id_token_minutes=identity.id_token_minutes,
                refresh_token_hours=identity.refresh_token_hours,
                auth_session_minutes=identity.auth_session_minutes,
                deletion_protection=identity.deletion_protection,
                removal_policy=config.removal_policy,
            ),
        )
        self.user_pool = pool.user_pool
        self.user_pool_client = pool.client
        self.web_acl = UserPoolWebAcl(
            self,
            "SignInWebAcl",
            user_pool=pool.user_pool,
            settings=UserPoolWebAclSettings(
                name=f"{name}-user-pool",
                vpc_cidr=config.network.vpc_cidr,
                public_auth_rate_limit=identity.auth_rate_limit,
                public_auth_window_seconds=identity.auth_evaluation_window_seconds,
                service_auth_rate_limit=identity.service_auth_rate_limit,
                service_auth_window_seconds=identity.service_auth_evaluation_window_seconds,
            ),
            logs_key=logs_key,
            log_retention=retention(config.log_retention_days),
            removal_policy=config.removal_policy,
        )
        # For the service wiring (environment of the task) and the sandbox smoke check.
        cdk.CfnOutput(self, "UserPoolId", value=pool.user_pool.user_pool_id, description="Cognito user pool ID (JWT issuer suffix)")
        cdk.CfnOutput(self, "UserPoolClientId", value=pool.client.user_pool_client_id, description="App client ID (access token client_id)")
