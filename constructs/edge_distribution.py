"""CloudFront in front of the ALB (R9, R5): the only public entry to MediVault.

- Origin: the ALB over HTTPS only (TLS 1.2), with a secret header the ALB listener requires, so a
  request that bypasses CloudFront (and its WAF) is refused even from CloudFront's address range.
- Viewers: HTTPS only, HTTP/2 and HTTP/3, TLSv1.2_2021 when a custom certificate exists.
- Default behaviour (API, PHI pages, everything not listed as static): caching disabled, every
  viewer header, cookie and query string forwarded except Host; nothing is stored at the edge.
- Static asset paths: cached with CloudFront's CachingOptimized policy (no cookies, no auth header
  forwarded, so nothing user-specific can be cached there).
- A response-headers policy on every behaviour: HSTS, nosniff, frame DENY, referrer policy, CSP.
- Standard access logs to an S3 bucket in eu-central-1 (viewer IPs are personal data: kept in the EU).
- Geo restriction to the served countries, as defence in depth behind the WAF geo rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.traceability import trace

HSTS_MAX_AGE = cdk.Duration.seconds(63_072_000)  # two years, the hstspreload.org minimum is one
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "upgrade-insecure-requests",
    )
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
LOG_PREFIX = "cloudfront/"


@dataclass(frozen=True, kw_only=True)
class DistributionSettings:
    """Who may reach the distribution and what it caches; the edge stack maps ``EdgeConfig`` onto it."""

    served_countries: tuple[str, ...]  # geo restriction allow list (ISO 3166-1 alpha-2)
    static_asset_paths: tuple[str, ...]  # path patterns cached at the edge; everything else is not
    price_class: cloudfront.PriceClass

    def __post_init__(self) -> None:
        if not self.served_countries:
            raise ValueError("DistributionSettings.served_countries: empty; allowed: one or more ISO 3166-1 alpha-2 codes")


class EdgeDistribution(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        origin_secret: secretsmanager.ISecret,
        origin_header_name: str,
        web_acl_arn: str,
        settings: DistributionSettings,
        log_bucket: s3.IBucket,
        certificate: acm.ICertificate | None = None,
        domain_name: str | None = None,
        origin_domain_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (certificate is None) != (domain_name is None):
            raise ValueError("EdgeDistribution: certificate and domain_name go together")
        if not origin_header_name or not origin_header_name.lower().startswith("x-"):
            raise ValueError(f"EdgeDistribution: origin header {origin_header_name!r} should be a custom X- header")

        # CloudFront checks the origin's certificate against the origin name: with a domain that is
        # origin.<domain> (an alias of the ALB that its certificate covers); without, the ALB's name.
        origin = origins.HttpOrigin(
            origin_domain_name or load_balancer.load_balancer_dns_name,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            https_port=443,
            # CloudFormation resolves the dynamic reference at deploy time: the value never appears
            # in code or in the template, only in the distribution's configuration.
            custom_headers={origin_header_name: origin_secret.secret_value.unsafe_unwrap()},
            read_timeout=cdk.Duration.seconds(30),
            keepalive_timeout=cdk.Duration.seconds(5),
        )
        self.response_headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="MediVault: HSTS, nosniff, frame DENY, referrer policy, strict CSP",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, preload=False, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
                # PHI can sit in a URL (a record ID): never send the URL to another site.
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(referrer_policy=cloudfront.HeadersReferrerPolicy.SAME_ORIGIN, override=True),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[cloudfront.ResponseCustomHeader(header="Permissions-Policy", value=PERMISSIONS_POLICY, override=True)]
            ),
            remove_headers=["Server", "X-Powered-By"],
        )
        dynamic = cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=self.response_headers_policy,
            compress=True,
        )
        static = cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            response_headers_policy=self.response_headers_policy,
            compress=True,
        )
        tls: dict[str, object] = {}
        if certificate is not None and domain_name is not None:
            tls = {
                "certificate": certificate,
                "domain_names": [domain_name],
                "minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
                "ssl_support_method": cloudfront.SSLMethod.SNI,
            }
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="MediVault EU: CloudFront + WAF in front of the ALB",
            default_behavior=dynamic,
            additional_behaviors=dict.fromkeys(settings.static_asset_paths, static),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_ipv6=True,
            price_class=settings.price_class,
            geo_restriction=cloudfront.GeoRestriction.allowlist(*settings.served_countries),
            web_acl_id=web_acl_arn,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix=LOG_PREFIX,
            # Cookies carry session tokens: they stay out of the logs.
            log_includes_cookies=False,
            **tls,  # type: ignore[arg-type]
        )
        if certificate is None:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "Review-only configuration without a domain: CloudFront's default *.cloudfront.net certificate forces "
                "TLSv1 as the minimum. A CloudFormation rule (deploy guard) refuses to deploy this configuration; with a "
                "configured domain the distribution uses an ACM certificate and TLSv1.2_2021.",
            )
        trace(
            self,
            ["R9", "R5"],
            ["security", "performance-efficiency"],
            "CloudFront with the WAF web ACL fronts the ALB over TLS 1.2 with a secret origin header, caches only static "
            "assets, adds HSTS/CSP headers and logs every request.",
        )
