"""App tier (R4, R5, R10, R13): the containerised service on Fargate behind an internet-facing ALB
that admits only CloudFront.

    CloudFront --HTTPS + secret origin header--> ALB (public subnets, TLS 1.2/1.3)
        --app port--> Fargate tasks (ARM64, private app subnets, 3 AZs) --TLS--> Aurora / Redis

Security groups of the tiers come from the Network stack (constructs/tier_security_groups.py);
this stack adds only the origin-header rotation function's. The ALB listener forwards only requests
carrying the origin header whose value lives in Secrets Manager (resolved by CloudFormation at
deploy time) and is rotated every 30 days with a two-value window; everything else gets 403.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.database_migration import DatabaseMigration, MigrationSettings
from constructs.deploy_guard import refuse_deploy
from constructs.evidence_protection import protect_evidence
from constructs.log_retention import retention
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.origin_header_rotation import OriginHeaderRotation
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.evidence import evidence_protection

SERVICE_DIR = "service"
APP_CONTAINER = "app"
SIDECAR_CONTAINER = "xray-collector"
SIDECAR_DIR = "tracing_sidecar"  # service/tracing_sidecar/Dockerfile: the private ADOT mirror
# The accounts hosting GuardDuty's Fargate security agent, per region (GuardDuty guide, "ECR repository
# for GuardDuty agent on AWS Fargate (Amazon ECS only)").
GUARDDUTY_AGENT_ACCOUNTS = {"eu-central-1": "323658145986", "eu-west-1": "694911143906", "us-east-1": "593207742271"}
CONTAINER_USER = "10001:10001"  # the non-root user of service/Dockerfile
HEALTH_CHECK_PATH = "/healthz"
# Amazon RDS CA bundle baked into the image (service/Dockerfile).
DB_CA_FILE = "/etc/ssl/certs/rds-global-bundle.pem"
# ADOT collector: only the X-Ray receiver (UDP 2000 on the task's loopback, plus the sampling proxy)
# and the X-Ray exporter. No metrics pipelines: the task role grants nothing beyond X-Ray.
ADOT_CONFIG = """extensions:
  health_check:
    endpoint: 127.0.0.1:13133
receivers:
  awsxray:
    endpoint: 127.0.0.1:2000
    transport: udp
    proxy_server:
      endpoint: 127.0.0.1:2000
exporters:
  awsxray:
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [awsxray]
      exporters: [awsxray]
"""
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]


class AppStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        app_subnets: ec2.SubnetSelection,
        alb_security_group: ec2.ISecurityGroup,
        app_security_group: ec2.ISecurityGroup,
        migration_security_group: ec2.ISecurityGroup,
        migration_trigger_security_group: ec2.ISecurityGroup,
        database: rds.IDatabaseCluster,
        database_secret: secretsmanager.ISecret,
        cache_auth_secret: secretsmanager.ISecret,
        cache_endpoint_address: str,
        cache_endpoint_port: str,
        phi_buckets: list[s3.IBucket],
        data_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="ECS Fargate service behind an ALB that admits only CloudFront",
        )
        settings = config.app
        port = config.network.app_port
        self.database = database  # for dashboards and alarms that pair service and database metrics
        self.origin_header_name = settings.origin_header_name

        # --- cluster, logs, roles ---------------------------------------------------------------
        self.cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENHANCED)
        log_group = logs.LogGroup(
            self, "ServiceLogs", encryption_key=logs_key, retention=retention(config.log_retention_days), removal_policy=config.removal_policy
        )

        task_role = ManagedPolicyRole(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="MediVault app tasks: PHI buckets, rds-db:connect as medivault_service, X-Ray",
        )
        # The same image runs the service and, at deploy, the schema migration (as the master user,
        # in its own task definition). The service's task role never reads the master secret: it
        # logs in as medivault_service with an IAM token (rds-db:connect on exactly that user).
        image = ecs.ContainerImage.from_docker_image_asset(
            # Synth only stages service/ into cdk.out; the image is built (linux/arm64) at deploy.
            ecr_assets.DockerImageAsset(
                self,
                "ServiceImage",
                directory=SERVICE_DIR,
                platform=ecr_assets.Platform.LINUX_ARM64,
                exclude=["**/__pycache__", "**/*.pyc", SIDECAR_DIR],
            )
        )
        self.migration = DatabaseMigration(
            self,
            "DatabaseMigration",
            settings=MigrationSettings(ca_file=DB_CA_FILE, container_user=CONTAINER_USER, powertools_layer_version=config.powertools_layer_version),
            cluster=self.cluster,
            image=image,
            log_group=log_group,
            vpc=vpc,
            subnets=app_subnets,
            task_security_group=migration_security_group,
            trigger_security_group=migration_trigger_security_group,
            database=database,
            master_secret=database_secret,
            master_secret_key=data_key,
            logs_key=logs_key,
            queue_key=data_key,
            log_retention=retention(config.log_retention_days),
            removal_policy=config.removal_policy,
        )
        self.migration.grant_service_connect(task_role)
        # PHI objects: read and write only, no delete (Object Lock keeps versions anyway), no bucket admin.
        object_arns = [self._objects_arn(bucket, index) for index, bucket in enumerate(phi_buckets)]
        task_role.add_to_principal_policy(
            iam.PolicyStatement(sid="PhiObjects", actions=["s3:GetObject", "s3:PutObject"], resources=[a for a, _ in object_arns])
        )
        task_role.add_to_principal_policy(
            iam.PolicyStatement(sid="PhiList", actions=["s3:ListBucket"], resources=[b.bucket_arn for b in phi_buckets])
        )
        # SSE-KMS objects in the PHI buckets; the key policy admits this only via S3 / Secrets Manager.
        task_role.add_to_principal_policy(
            iam.PolicyStatement(sid="DataKey", actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[data_key.key_arn])
        )
        task_role.add_to_principal_policy(iam.PolicyStatement(sid="XRay", actions=XRAY_ACTIONS, resources=["*"]))
        for _, finding in object_arns:
            acknowledge(
                task_role,
                f"AwsSolutions-IAM5[Resource::{finding}]",
                "Object keys inside one named PHI bucket (<bucket ARN>/*): objects are created at runtime and cannot be listed in a "
                "policy; only GetObject and PutObject are allowed on them.",
            )
        acknowledge(
            task_role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only the X-Ray actions (PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) use Resource '*': "
            "X-Ray has no resource-level permissions for them.",
        )

        execution_role = ManagedPolicyRole(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="ECS agent for the MediVault app: pull the image, write logs, inject secrets",
        )

        # The ECS agent injects the Redis token. Referenced without its key, so the grant stays in the execution role's
        # policy instead of adding the role to the key policy in the Keys stack (a dependency cycle).
        cache_token = secretsmanager.Secret.from_secret_attributes(self, "CacheAuthToken", secret_complete_arn=cache_auth_secret.secret_arn)
        if cache_auth_secret.encryption_key is not None:
            execution_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DecryptInjectedSecrets",
                    actions=["kms:Decrypt"],
                    resources=[cache_auth_secret.encryption_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}},
                )
            )

        # GuardDuty Runtime Monitoring (agent management on, Audit stack) injects its security agent as a
        # sidecar into every new task; the execution role pulls it from GuardDuty's regional repository:
        # https://docs.aws.amazon.com/guardduty/latest/ug/ecs-runtime-agent-ecr-image-uri.html
        # The migration task (its own execution role) gets the same agent.
        if self.region not in GUARDDUTY_AGENT_ACCOUNTS:
            raise ValueError(f"AppStack: no GuardDuty Fargate agent repository known for {self.region}; add it to GUARDDUTY_AGENT_ACCOUNTS")
        for role in (execution_role, self.migration.execution_role):
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="PullGuardDutyAgent",
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[
                        f"arn:{self.partition}:ecr:{self.region}:{GUARDDUTY_AGENT_ACCOUNTS[self.region]}:repository/aws-guardduty-agent-fargate"
                    ],
                )
            )

        # --- task definition ----------------------------------------------------------------------
        task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=settings.cpu,
            memory_limit_mib=settings.memory_mib,
            runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX),
            task_role=task_role,
            execution_role=execution_role,
            volumes=[ecs.Volume(name="tmp")],
        )
        app = task_definition.add_container(
            APP_CONTAINER,
            image=image,
            essential=True,
            readonly_root_filesystem=True,
            user=CONTAINER_USER,
            port_mappings=[ecs.PortMapping(container_port=port, protocol=ecs.Protocol.TCP)],
            environment={
                # Names and addresses only: no database password exists for the service (IAM token), and
                # the cache token comes from Secrets Manager.
                **self.migration.service_environment(),
                "DB_CA_FILE": DB_CA_FILE,
                "REDIS_HOST": cache_endpoint_address,
                "REDIS_PORT": cache_endpoint_port,
                "PORT": str(port),
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                "LOG_LEVEL": "INFO",
            },
            secrets={"REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(cache_token)},
            logging=ecs.LogDrivers.aws_logs(stream_prefix=APP_CONTAINER, log_group=log_group, mode=ecs.AwsLogDriverMode.NON_BLOCKING),
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{HEALTH_CHECK_PATH}', timeout=2)",
                ],
                interval=cdk.Duration.seconds(15),
                timeout=cdk.Duration.seconds(5),
                retries=3,
                start_period=cdk.Duration.seconds(30),
            ),
            stop_timeout=cdk.Duration.seconds(30),
        )
        app.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))  # noqa: S108 - task-private scratch
        sidecar = task_definition.add_container(
            SIDECAR_CONTAINER,
            # Mirrored into the account's private ECR at deploy (no pull from public.ecr.aws at run time).
            image=ecs.ContainerImage.from_asset(
                f"{SERVICE_DIR}/{SIDECAR_DIR}",
                platform=ecr_assets.Platform.LINUX_ARM64,
                build_args={"ADOT_IMAGE": settings.tracing_sidecar_source},
            ),
            essential=False,  # losing traces must not take the service down
            readonly_root_filesystem=True,
            user=CONTAINER_USER,
            cpu=64,
            memory_reservation_mib=128,
            environment={"AOT_CONFIG_CONTENT": ADOT_CONFIG},
            logging=ecs.LogDrivers.aws_logs(stream_prefix=SIDECAR_CONTAINER, log_group=log_group, mode=ecs.AwsLogDriverMode.NON_BLOCKING),
            health_check=ecs.HealthCheck(command=["CMD", "/healthcheck"], interval=cdk.Duration.seconds(30), start_period=cdk.Duration.seconds(15)),
        )
        app.add_container_dependencies(ecs.ContainerDependency(container=sidecar, condition=ecs.ContainerDependencyCondition.START))
        if not settings.tracing_sidecar_digest:
            refuse_deploy(
                self,
                "RequireSidecarDigest",
                message="MediVault app: app.tracing_sidecar_digest is not set. Pin the ADOT collector by its index digest "
                "(docker buildx imagetools inspect <app.tracing_sidecar_image>) in stacks/config/app.py before deploying.",
            )
        acknowledge(
            task_definition,
            "AwsSolutions-ECS2",
            "The environment holds only non-secret settings (database host, port, name and user, cache host and port, CA path, "
            "sidecar config); the Redis token is injected from Secrets Manager and the database login is a 15-minute IAM token "
            "the task signs itself: there is no database password in or behind the task definition.",
        )
        acknowledge(
            execution_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; image pulls, log writes and secret reads are scoped.",
        )

        # --- load balancer ------------------------------------------------------------------------
        access_logs = s3.Bucket(
            self,
            "AlbAccessLogs",
            # ALB access logs support only SSE-S3 (not SSE-KMS).
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            # Evidence (stacks/config/evidence.py): no version expires before the retention period.
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(config.evidence.alb_log_days),
                    noncurrent_version_expiration=cdk.Duration.days(config.evidence.alb_log_days),
                )
            ],
            removal_policy=config.removal_policy,
        )
        # No Object Lock: ELB documents none for its log bucket, and a rejected delivery is silent.
        protect_evidence(access_logs, evidence_protection(config))
        acknowledge(
            access_logs,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "Elastic Load Balancing writes access logs only to buckets encrypted with SSE-S3 (AES-256); "
            "SSE-KMS is not supported for this destination.",
        )
        acknowledge(
            access_logs,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "ALB access logs are request records without PHI bodies, kept in the primary region for the evidence retention "
            "period (six years in production) under a bucket policy that denies deletion to all but break-glass; "
            "the PHI buckets themselves are backed up to eu-west-1.",
        )
        for rule in ("AwsSolutions-S1", "HIPAA.Security-S3BucketLoggingEnabled"):
            acknowledge(
                access_logs,
                rule,
                "This bucket holds access logs itself (the ALB's); server-access-logging it into another log bucket would only "
                "move the question, and the data tier's log bucket cannot name a bucket of this later stack without a cycle. "
                "Its bucket policy denies object deletion and lifecycle/policy changes to all but break-glass, and every "
                "bucket-level change is a CloudTrail management event.",
            )
        self.access_log_bucket = access_logs

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=alb_security_group,
            deletion_protection=config.is_production,
            drop_invalid_header_fields=True,
            http2_enabled=True,
            idle_timeout=cdk.Duration.seconds(60),
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
        )
        self.load_balancer.log_access_logs(access_logs, prefix="alb")
        if not config.is_production:
            acknowledge(
                self.load_balancer,
                "HIPAA.Security-ELBDeletionProtectionEnabled",
                "Sandbox only: the sandbox is torn down with `make destroy-sandbox`; production enables deletion protection.",
            )

        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=cdk.Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=HEALTH_CHECK_PATH,
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(15),
                timeout=cdk.Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )

        certificate = self._certificate(config)
        self.listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.TLS13_RES,
            open=False,  # the ALB security group admits only CloudFront's origin-facing prefix list
            default_action=elbv2.ListenerAction.fixed_response(403, content_type="text/plain", message_body="Forbidden"),
        )
        redirect = self.load_balancer.add_redirect(source_port=80, target_port=443, open=False)
        acknowledge(
            redirect,
            "HIPAA.Security-ELBv2ACMCertificateRequired",
            "This HTTP listener only answers with a 301 redirect to HTTPS and serves no content; all content is served by the "
            "443 listener with an ACM certificate. The ALB security group does not even admit port 80.",
        )

        # --- origin secret: only CloudFront knows the header value ----------------------------------
        # L1 on purpose: the L2 Secret would add a statement to the data key's policy in the Keys stack; that key
        # policy already lets account principals use the key through Secrets Manager.
        origin_secret = secretsmanager.CfnSecret(
            self,
            "OriginSecret",
            description="Value of the origin header CloudFront sends to the ALB; requests without it get 403",
            kms_key_id=data_key.key_arn,
            generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
                # Letters and digits only: ALB header conditions treat * and ? as wildcards.
                exclude_punctuation=True,
                include_space=False,
                password_length=48,
            ),
        )
        origin_secret.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        self.origin_secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_complete_arn(self, "OriginSecretRef", origin_secret.ref)
        # The template lists AWSCURRENT only: a new secret has no AWSPREVIOUS version, and a dynamic
        # reference to it would fail the first deploy. The rotation function owns the two-value
        # window; a later stack update that touches this rule resolves AWSCURRENT, the value
        # CloudFront sends once a rotation has finished (constructs/origin_header_rotation.py).
        self.origin_rule = elbv2.ApplicationListenerRule(
            self,
            "ForwardFromCloudFront",
            listener=self.listener,
            priority=1,
            conditions=[elbv2.ListenerCondition.http_header(self.origin_header_name, [self.origin_secret.secret_value.unsafe_unwrap()])],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
        self.origin_rotation = OriginHeaderRotation(
            self,
            "OriginSecretRotation",
            secret=self.origin_secret,
            secret_key=data_key,
            listener_rule=self.origin_rule,
            header_name=self.origin_header_name,
            # CloudFront's origin: origin.<domain> with a domain, else the ALB's own name (constructs/edge_distribution.py).
            origin_domain=config.domain.origin_domain_name if config.domain else self.load_balancer.load_balancer_dns_name,
            distribution_parameter_name=f"/medivault/{config.name}/edge/distribution-id",
            rotation_days=config.data.secret_rotation_days,
            vpc=vpc,
            subnets=app_subnets,
            logs_key=logs_key,
            queue_key=data_key,
            log_retention=retention(config.log_retention_days),
            removal_policy=config.removal_policy,
            powertools_layer_version=config.powertools_layer_version,
        )

        # --- service ------------------------------------------------------------------------------
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            desired_count=settings.min_tasks,
            vpc_subnets=app_subnets,
            security_groups=[app_security_group],
            assign_public_ip=False,
            platform_version=ecs.FargatePlatformVersion.LATEST,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            availability_zone_rebalancing=ecs.AvailabilityZoneRebalancing.ENABLED,
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=cdk.Duration.seconds(60),
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
        )
        self.target_group.add_target(self.service.load_balancer_target(container_name=APP_CONTAINER, container_port=port))
        # New service code starts only on a migrated schema; a failed migration stops the deploy here.
        self.service.node.add_dependency(self.migration.resource)

        scaling = self.service.auto_scale_task_count(min_capacity=settings.min_tasks, max_capacity=settings.max_tasks)
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=settings.cpu_target_percent)
        scaling.scale_on_memory_utilization("Memory", target_utilization_percent=settings.memory_target_percent)
        scaling.scale_on_request_count("Requests", requests_per_target=settings.requests_per_target, target_group=self.target_group)

        trace(
            self.service,
            ["R4", "R1"],
            ["reliability", "performance-efficiency", "cost-optimisation"],
            "Fargate ARM64 tasks over three AZs, autoscaled on CPU, memory and requests, rolled back by the circuit breaker.",
        )
        trace(
            self.service,
            ["R4"],
            ["sustainability"],
            "ARM64 (Graviton) Fargate tasks, as many as demand needs between the configured bounds: no idle servers, less energy per request.",
        )
        trace(
            self.load_balancer,
            ["R5", "R9"],
            ["security", "reliability"],
            "ALB with TLS 1.2/1.3, HTTP redirect, /healthz health checks, access logs; forwards only CloudFront's secret-header requests.",
        )
        trace(
            task_definition,
            ["R10", "R13"],
            ["security", "operational-excellence"],
            "Read-only non-root containers; secrets from Secrets Manager; JSON logs to a KMS log group; X-Ray via the ADOT sidecar.",
        )

    def _objects_arn(self, bucket: s3.IBucket, index: int) -> tuple[str, str]:
        """``<bucket ARN>/*`` and the cdk-nag finding it raises. A bucket of another stack is referenced through an
        export with a fixed name, so the finding id (and its acknowledgment) is known at construction time."""
        producer = cdk.Stack.of(bucket)
        if producer is self:
            raise ValueError("AppStack: PHI buckets belong to the data tier, not the app stack")
        name = f"{producer.stack_name}-PhiBucket{index}Arn"
        producer.export_value(bucket.bucket_arn, name=name)
        return f"{cdk.Fn.import_value(name)}/*", f"{name}/*"

    def _certificate(self, config: EnvironmentConfig) -> acm.ICertificate:
        if config.domain is not None:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=config.domain.hosted_zone_id, zone_name=config.domain.hosted_zone_name
            )
            # CloudFront connects to origin.<domain> (an alias of this ALB, stacks/edge_stack.py) and checks this certificate against it.
            return acm.Certificate(
                self,
                "Certificate",
                domain_name=config.domain.domain_name,
                subject_alternative_names=[config.domain.origin_domain_name],
                validation=acm.CertificateValidation.from_dns(zone),
            )
        if config.app.has_placeholder_certificate:
            refuse_deploy(
                self,
                "RequireCertificate",
                message="MediVault app: no ALB certificate configured. Set `domain` (DNS-validated ACM certificate) or "
                "`app.certificate_arn` (an ACM certificate in eu-central-1) in stacks/config before deploying.",
            )
            # The guard's assertion is false on purpose; cfn-lint's W8003 ("will always return False") says exactly
            # that. Rules carry no per-resource metadata, so this template-level ignore covers that one check.
            self.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W8003"]}})
        return acm.Certificate.from_certificate_arn(self, "Certificate", config.app.certificate_arn)
