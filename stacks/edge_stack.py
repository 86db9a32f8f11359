"""Edge, eu-central-1 part (R9, R5): the CloudFront distribution, its access logs and DNS.

Takes the web ACL (and, with a domain, the certificate) from the us-east-1 ``EdgeGlobalStack``:
CDK resolves those cross-region references itself. With ``@aws-cdk/core:defaultCrossStackReferences``
set to ``weak`` (cdk.json) they become ``Fn::GetStackOutput`` reads of the producer's outputs, so the
producer can replace its web ACL or certificate without the "Exports cannot be updated" deadlock of
strong references; the deploy order (EdgeGlobal first) is a stack dependency.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from constructs.access_log_bucket import AccessLogBucket
from constructs.compliance import acknowledge
from constructs.deploy_guard import refuse_deploy
from constructs.edge_distribution import DistributionSettings, EdgeDistribution
from constructs.evidence_protection import protect_evidence
from constructs.origin_header_rotation import OriginHeaderRotation
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.config.edge import EdgeConfig
from stacks.edge_global_stack import NO_DOMAIN_MESSAGE
from stacks.evidence import evidence_protection

# Config value (stacks/config/edge.py PRICE_CLASSES) -> CDK enum. 100: North America and Europe only
# (R1: EU users, US clinics).
PRICE_CLASSES = {"PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100}


def distribution_settings(edge: EdgeConfig) -> DistributionSettings:
    """The environment's edge config (validated) as the distribution construct's settings."""
    return DistributionSettings(
        served_countries=edge.served_countries,
        static_asset_paths=edge.static_asset_paths,
        price_class=PRICE_CLASSES[edge.price_class],
    )


class EdgeStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        load_balancer: elbv2.IApplicationLoadBalancer,
        origin_secret: secretsmanager.ISecret,
        origin_header_name: str,
        web_acl: wafv2.CfnWebACL,
        certificate: acm.ICertificate | None,
        origin_rotation: OriginHeaderRotation,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="edge: CloudFront distribution with WAF in front of the ALB, access logs, DNS",
            stateful=True,  # the access-log bucket and its key
            cross_region_references=True,
        )
        domain = config.domain
        if (domain is None) != (certificate is None):
            raise ValueError("EdgeStack: a configured domain needs the CloudFront certificate, and only then")

        # Access logs: CloudFront's log delivery writes with its own service principal.
        self.logs_key = PurposeKey(
            self,
            "AccessLogsKey",
            purpose="CloudFront access logs",
            alias=f"alias/medivault/{config.name}/cloudfront-logs",
            via_services=["s3"],
            service_principals=[
                ServicePrincipalUse(
                    service="delivery.logs.amazonaws.com",
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                    actions=("kms:GenerateDataKey*", "kms:Decrypt"),
                )
            ],
            removal_policy=config.removal_policy,
        ).key
        # Who read or deleted CloudFront's logs is itself logged (S3 server access logging can
        # deliver only to an SSE-S3 bucket: the project's AccessLogBucket).
        self.s3_access_log_bucket: s3.IBucket = AccessLogBucket(
            self,
            "S3AccessLogs",
            retention_days=config.evidence.evidence_access_log_days,
            protection=evidence_protection(config),
            removal_policy=config.removal_policy,
        ).bucket
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.logs_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # CloudFront standard logging writes through an ACL grant to its log-delivery account.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    # Evidence (stacks/config/evidence.py): no version expires before the retention period.
                    expiration=cdk.Duration.days(config.evidence.cloudfront_log_days),
                    noncurrent_version_expiration=cdk.Duration.days(config.evidence.cloudfront_log_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            removal_policy=config.removal_policy,
            auto_delete_objects=False,
            server_access_logs_bucket=self.s3_access_log_bucket,
            server_access_logs_prefix="cloudfront-logs/",
        )
        # No Object Lock: CloudFront documents none for its log bucket, and a rejected delivery is silent.
        protect_evidence(self.log_bucket, evidence_protection(config))
        acknowledge(
            self.log_bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "CloudFront access logs are operational request metadata, not patient records; they are versioned and "
            "KMS-encrypted in eu-central-1 and need no disaster-recovery copy in eu-west-1.",
        )

        self.distribution = EdgeDistribution(
            self,
            "Cdn",
            load_balancer=load_balancer,
            origin_secret=origin_secret,
            origin_header_name=origin_header_name,
            web_acl_arn=web_acl.attr_arn,
            settings=distribution_settings(config.edge),
            log_bucket=self.log_bucket,
            certificate=certificate,
            domain_name=domain.domain_name if domain else None,
            origin_domain_name=domain.origin_domain_name if domain else None,
        ).distribution
        # The App stack's origin-header rotation updates this distribution: its id and the permission
        # to update it (this ARN only) are added here, where the distribution exists.
        origin_rotation.grant_distribution(self, self.distribution)

        if domain is None:
            refuse_deploy(self, "RequireDomain", message=NO_DOMAIN_MESSAGE)
        else:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name
            )
            to_cdn = route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution))
            route53.ARecord(self, "AliasA", zone=zone, record_name=domain.domain_name, target=to_cdn)
            route53.AaaaRecord(self, "AliasAaaa", zone=zone, record_name=domain.domain_name, target=to_cdn)
            route53.ARecord(
                self,
                "OriginAlias",
                zone=zone,
                record_name=domain.origin_domain_name,
                target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(load_balancer)),
            )
        trace(
            self.log_bucket,
            ["R9", "R12"],
            ["security", "operational-excellence"],
            "Every CloudFront request is logged to an encrypted bucket in the EU.",
        )
