"""Edge, us-east-1 part (R9, R5): what CloudFront forces into us-east-1 and nothing else.

The CLOUDFRONT-scoped WAF web ACL, its (encrypted, redacted) logs, and - when a domain is
configured - the DNS-validated ACM certificate CloudFront serves. No customer data lives here:
WAF logs hold request metadata with the Authorization and Cookie headers redacted.
"""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from constructs import Construct
from constructs.deploy_guard import refuse_deploy
from constructs.edge_web_acl import EdgeWebAcl, WebAclSettings
from constructs.log_retention import retention
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.config.edge import EdgeConfig

NO_DOMAIN_MESSAGE = (
    "MediVault edge: no domain is configured (EnvironmentConfig.domain). Without one CloudFront serves the default "
    "*.cloudfront.net certificate, which allows TLSv1 - this configuration is for review synth only. Set domain_name, "
    "hosted_zone_id and hosted_zone_name, then deploy."
)


def web_acl_settings(edge: EdgeConfig) -> WebAclSettings:
    """The environment's edge config (validated) as the web ACL construct's settings."""
    return WebAclSettings(
        served_countries=edge.served_countries,
        login_paths=edge.login_paths,
        login_rate_limit=edge.login_rate_limit,
        login_evaluation_window_seconds=edge.login_evaluation_window_seconds,
        global_rate_limit=edge.global_rate_limit,
        global_evaluation_window_seconds=edge.global_evaluation_window_seconds,
        managed_rule_groups=edge.managed_rule_groups,
        common_rule_set_count_only=edge.common_rule_set_count_only,
    )


class EdgeGlobalStack(MediVaultStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.edge_region,
            description="edge in us-east-1: CloudFront WAF web ACL, its logs, CloudFront certificate",
            stateful=True,  # the logs key and WAF logs (security evidence)
        )
        name = f"medivault-{config.name}"
        self.logs_key = PurposeKey(
            self,
            "EdgeLogsKey",
            purpose="edge logs (us-east-1)",
            alias=f"alias/medivault/{config.name}/edge-logs",
            via_services=["logs"],
            service_principals=[ServicePrincipalUse.cloudwatch_logs(self)],
            removal_policy=config.removal_policy,
        ).key
        acl = EdgeWebAcl(
            self,
            "Waf",
            name=name,
            settings=web_acl_settings(config.edge),
            logs_key=self.logs_key,
            log_retention=retention(config.log_retention_days),
            removal_policy=config.removal_policy,
        )
        self.web_acl = acl.web_acl
        self.waf_log_group = acl.log_group
        trace(self.logs_key, ["R9", "R13"], ["security"], "WAF logs in us-east-1 are encrypted with a rotated key of that region.")

        self.certificate: acm.ICertificate | None = None
        if config.domain is None:
            refuse_deploy(self, "RequireDomain", message=NO_DOMAIN_MESSAGE)
        else:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=config.domain.hosted_zone_id, zone_name=config.domain.hosted_zone_name
            )
            self.certificate = acm.Certificate(
                self,
                "CloudFrontCertificate",
                domain_name=config.domain.domain_name,
                validation=acm.CertificateValidation.from_dns(zone),
            )
            trace(self.certificate, ["R5"], ["security"], "CloudFront serves a DNS-validated ACM certificate, so viewers get TLSv1.2_2021.")
