"""An internet-facing ALB that serves only CloudFront (R5, R9, R10).

    CloudFront --HTTPS + secret origin header--> this ALB (public subnets, TLS 1.2/1.3) --HTTP--> target group

- the security group given (the Network stack's) admits only CloudFront's origin-facing prefix list on 443;
- the HTTPS listener answers 403 by default and forwards (rule priority 1) only requests that carry the
  origin header whose value lives in Secrets Manager, resolved by CloudFormation at deploy time, never in
  the template; the value is rotated every ``secret_rotation_days`` with a two-value window
  (constructs/origin_header_rotation.py); port 80 only redirects to HTTPS;
- access logs go to an SSE-S3 bucket (ELB supports no SSE-KMS destination) that keeps every version
  ``access_log_days`` under the evidence bucket policy (constructs/evidence_protection.py).

Logical IDs: the class *is* the ALB (an L2 subclass, id ``LoadBalancer``), and the resources around it
(``AlbAccessLogs``, ``OriginSecret``, ``ForwardFromCloudFront``, ``OriginSecretRotation``)
are created in the scope the ALB is created in, so a move of this code out of the App stack kept every
logical ID (a rename would replace the ALB, the log bucket and the secret in a real deploy).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.access_log_bucket import LogBucket, LogBucketSettings
from constructs.compliance import acknowledge
from constructs.deploy_guard import refuse_deploy
from constructs.evidence_protection import EvidenceProtection
from constructs.origin_header_rotation import OriginHeaderRotation
from constructs.traceability import trace

ORIGIN_SECRET_LENGTH = 48
# Why the ALB log bucket is not itself server-access-logged (AwsSolutions-S1, HIPAA S3BucketLoggingEnabled).
UNLOGGED_REASON = (
    "This bucket holds access logs itself (the ALB's); server-access-logging it into another log bucket would only "
    "move the question, and the data tier's log bucket cannot name a bucket of this later stack without a cycle. "
    "Its bucket policy denies object deletion and lifecycle/policy changes to all but break-glass, and every "
    "bucket-level change is a CloudTrail management event."
)


@dataclass(frozen=True, kw_only=True)
class AlbSettings:
    origin_header_name: str
    deletion_protection: bool
    access_log_days: int
    secret_rotation_days: int
    # SSM parameter the Edge stack fills with the distribution id (read by the rotation function).
    distribution_parameter_name: str
    # The name CloudFront connects to (origin.<domain>); None: the ALB's own DNS name.
    origin_domain_name: str | None
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    powertools_layer_version: int

    def __post_init__(self) -> None:
        if not self.origin_header_name.startswith("X-"):
            raise ValueError(f"AlbSettings.origin_header_name: {self.origin_header_name!r} is not a custom header (X-...)")
        if self.access_log_days < 1:
            raise ValueError(f"AlbSettings.access_log_days: {self.access_log_days} must be at least 1")


@dataclass(frozen=True, kw_only=True)
class AlbDomain:
    """A Route 53 zone to DNS-validate the ALB's certificate in, for the public name and CloudFront's origin name."""

    domain_name: str
    origin_domain_name: str
    hosted_zone_id: str
    hosted_zone_name: str


def alb_certificate(scope: Construct, *, domain: AlbDomain | None, certificate_arn: str, placeholder: bool) -> acm.ICertificate:
    """The ALB's certificate: DNS-validated for ``domain``, else the existing ``certificate_arn``.

    ``placeholder`` (a review-only ARN) adds a rule that refuses the deploy before anything is created.
    """
    if domain is not None:
        zone = route53.HostedZone.from_hosted_zone_attributes(scope, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name)
        # CloudFront connects to origin.<domain> (an alias of this ALB, stacks/edge_stack.py) and checks this certificate against it.
        return acm.Certificate(
            scope,
            "Certificate",
            domain_name=domain.domain_name,
            subject_alternative_names=[domain.origin_domain_name],
            validation=acm.CertificateValidation.from_dns(zone),
        )
    if placeholder:
        refuse_deploy(
            scope,
            "RequireCertificate",
            message="MediVault app: no ALB certificate configured. Set `domain` (DNS-validated ACM certificate) or "
            "`app.certificate_arn` (an ACM certificate in eu-central-1) in stacks/config before deploying.",
        )
        # The guard's assertion is false on purpose; cfn-lint's W8003 ("will always return False") says exactly
        # that. Rules carry no per-resource metadata, so this template-level ignore covers that one check.
        cdk.Stack.of(scope).add_metadata("cfn-lint", {"config": {"ignore_checks": ["W8003"]}})
    return acm.Certificate.from_certificate_arn(scope, "Certificate", certificate_arn)


class CloudFrontOnlyAlb(elbv2.ApplicationLoadBalancer):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: AlbSettings,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        certificate: acm.ICertificate,
        target_group: elbv2.IApplicationTargetGroup,
        evidence_protection: EvidenceProtection,
        rotation_subnets: ec2.SubnetSelection,
        secret_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        # ALB access logs support only SSE-S3 (not SSE-KMS): the project's one SSE-S3 log bucket, evidence-protected.
        # No Object Lock: ELB documents none for its log bucket, and a rejected delivery is silent.
        access_logs = LogBucket(
            scope,
            "AlbAccessLogs",
            settings=LogBucketSettings(
                retention_days=settings.access_log_days,
                rule_id=None,
                abort_incomplete_upload_days=None,
                writer="Elastic Load Balancing",
                contents=(
                    "client addresses, request lines and status codes (paths carry random record ids, never a name or a patient "
                    "identifier), never request or response bodies"
                ),
                replication_reason=(
                    "ALB access logs are request records without PHI bodies, kept in the primary region for the evidence retention "
                    "period (six years in production) under a bucket policy that denies deletion to all but break-glass; "
                    "the PHI buckets themselves are backed up to eu-west-1."
                ),
                unlogged_reason=UNLOGGED_REASON,
            ),
            protection=evidence_protection,
            removal_policy=settings.removal_policy,
        )
        resource = access_logs.node.default_child
        if resource is None:
            raise RuntimeError("no CloudFormation resource to acknowledge on")
        acknowledge(resource, "HIPAA.Security-S3BucketLoggingEnabled", UNLOGGED_REASON)

        super().__init__(
            scope,
            construct_id,
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=security_group,
            deletion_protection=settings.deletion_protection,
            drop_invalid_header_fields=True,
            http2_enabled=True,
            idle_timeout=cdk.Duration.seconds(60),
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
        )
        self.access_log_bucket: s3.IBucket = access_logs
        self.origin_header_name = settings.origin_header_name
        self.log_access_logs(access_logs, prefix="alb")
        if not settings.deletion_protection:
            acknowledge(
                self,
                "HIPAA.Security-ELBDeletionProtectionEnabled",
                "Sandbox only: the sandbox is torn down with `make destroy-sandbox`; production enables deletion protection.",
            )

        self.target_group = target_group
        self.https_listener = self.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.TLS13_RES,
            open=False,  # the security group admits only CloudFront's origin-facing prefix list
            default_action=elbv2.ListenerAction.fixed_response(403, content_type="text/plain", message_body="Forbidden"),
        )
        redirect = self.add_redirect(source_port=80, target_port=443, open=False)
        acknowledge(
            redirect,
            "HIPAA.Security-ELBv2ACMCertificateRequired",
            "This HTTP listener only answers with a 301 redirect to HTTPS and serves no content; all content is served by the "
            "443 listener with an ACM certificate. The ALB security group does not even admit port 80.",
        )

        # --- origin secret: only CloudFront knows the header value ----------------------------------
        # L1 on purpose: the L2 Secret would add a statement to the key's policy (in the Keys stack); that key
        # policy already lets account principals use the key through Secrets Manager.
        self.origin_secret_resource = secretsmanager.CfnSecret(
            scope,
            "OriginSecret",
            description="Value of the origin header CloudFront sends to the ALB; requests without it get 403",
            kms_key_id=secret_key.key_arn,
            generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
                # Letters and digits only: ALB header conditions treat * and ? as wildcards.
                exclude_punctuation=True,
                include_space=False,
                password_length=ORIGIN_SECRET_LENGTH,
            ),
        )
        self.origin_secret_resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        self.origin_secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_complete_arn(
            scope, "OriginSecretRef", self.origin_secret_resource.ref
        )
        # The template lists AWSCURRENT only: a new secret has no AWSPREVIOUS version, and a dynamic
        # reference to it would fail the first deploy. The rotation function owns the two-value
        # window; a later stack update that touches this rule resolves AWSCURRENT, the value
        # CloudFront sends once a rotation has finished (constructs/origin_header_rotation.py).
        self.origin_rule = elbv2.ApplicationListenerRule(
            scope,
            "ForwardFromCloudFront",
            listener=self.https_listener,
            priority=1,
            conditions=[elbv2.ListenerCondition.http_header(settings.origin_header_name, [self.origin_secret.secret_value.unsafe_unwrap()])],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
        self.origin_rotation = OriginHeaderRotation(
            scope,
            "OriginSecretRotation",
            secret=self.origin_secret,
            secret_key=secret_key,
            listener_rule=self.origin_rule,
            header_name=settings.origin_header_name,
            # CloudFront's origin: origin.<domain> with a domain, else this ALB's own name (constructs/edge_distribution.py).
            origin_domain=settings.origin_domain_name or self.load_balancer_dns_name,
            distribution_parameter_name=settings.distribution_parameter_name,
            rotation_days=settings.secret_rotation_days,
            vpc=vpc,
            subnets=rotation_subnets,
            logs_key=logs_key,
            queue_key=secret_key,
            log_retention=settings.log_retention,
            removal_policy=settings.removal_policy,
            powertools_layer_version=settings.powertools_layer_version,
        )
        trace(
            self,
            ["R5", "R9"],
            ["security", "reliability"],
            "ALB with TLS 1.2/1.3, HTTP redirect, /healthz health checks, access logs; forwards only CloudFront's secret-header requests.",
        )
