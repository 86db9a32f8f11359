"""The MediVault records service on Fargate (R4, R10, R13), with its deploy-time schema migration.

    target group --app port--> Fargate tasks (ARM64, private app subnets) --TLS--> Aurora / Valkey, S3 (presigned)

- one task definition: the service container (read-only root, non-root user, /healthz health check,
  JSON logs to a KMS log group) and the ADOT collector sidecar (X-Ray), both ARM64;
- no database password anywhere: the task signs a 15-minute IAM token for ``medivault_service``
  (``rds-db:connect`` on exactly that user); the cache AUTH token is injected from Secrets Manager by
  the ECS agent (execution role);
- the same image runs the schema migration once per deploy as the master user, in its own task
  definition (constructs/database_migration.py); the service waits for it;
- the records API hands out presigned S3 URLs, which act with *the task role's* permissions ("The
  credentials used by the presigned URL are those of the IAM principal who generated the URL", S3 User
  Guide, https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html). The role may
  therefore read and write PHI objects (single and multipart uploads, the confirm step's attributes and
  lock mode) and use the data key through S3 only; it can never delete an object or a version;
- Cognito sign-in needs no IAM permission: the JWKS is a public endpoint and InitiateAuth /
  RespondToAuthChallenge are unauthenticated operations for public app clients (Cognito Developer
  Guide, "Authorization models for API and SDK authentication",
  https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flows-public-server-side.html);
  the service only learns the pool and client ids;
- the target group (the tasks' IPs, /healthz) a load balancer forwards to; circuit breaker with rollback,
  AZ rebalancing, autoscaling on CPU, memory and the target group's requests per target.

Logical IDs: the class *is* the ECS service (an L2 subclass, id ``Service``); the cluster, roles, log
group, image, migration, task definition and target group are created in the scope the service is created in, so
moving this code out of the App stack kept every logical ID.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.database_migration import DatabaseMigration, MigrationSettings
from constructs.deploy_guard import refuse_deploy
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

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
# PHI objects, as the records API uses them through presigned URLs and its own calls (S3 User Guide,
# "Multipart upload API and permissions"; API reference of HeadObject and GetObjectAttributes):
# - PutObject: PUT, and CreateMultipartUpload / UploadPart / CompleteMultipartUpload;
# - AbortMultipartUpload, ListMultipartUploadParts (ListParts): an imaging upload of several GB;
# - GetObject: GET and HEAD (the confirm step: size, checksum);
# - GetObjectVersion: GET and HEAD of a given version (the service confirms a version id and presigns a
#   GET of exactly that version; GetObject reference: "you need the s3:GetObjectVersion permission");
# - GetObjectAttributes: GetObjectAttributes without a version id (with GetObject);
# - GetObjectRetention: HEAD returns x-amz-object-lock-mode / retain-until-date only with it.
# Never s3:DeleteObject / s3:DeleteObjectVersion: Object Lock keeps versions, and no record is deleted.
PHI_OBJECT_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:GetObject",
    "s3:GetObjectAttributes",
    "s3:GetObjectRetention",
    "s3:GetObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
]
# SSE-KMS through S3: GenerateDataKey for a PUT and CreateMultipartUpload, Decrypt for a GET, for every
# UploadPart / CompleteMultipartUpload (S3 reads the encrypted parts) and for a HEAD with checksum mode.
DATA_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
# The records service writes every object under this prefix (service/medivault_service/records.py): the
# task role reaches nothing else in the PHI buckets (tests/constructs/test_app_service.py keeps both equal).
RECORDS_OBJECT_PREFIX = "records/"


@dataclass(frozen=True, kw_only=True)
class AppServiceSettings:
    cpu: int  # Fargate CPU units of one task (app + sidecar)
    memory_mib: int
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    memory_target_percent: int
    requests_per_target: int  # ALB requests per task per minute before scaling out
    port: int  # the service container's port
    # The upstream ADOT image (tag, plus digest when pinned) the private sidecar mirror is built from.
    tracing_sidecar_source: str
    # False: the sidecar is not pinned by digest; a deploy is refused until it is.
    tracing_sidecar_pinned: bool
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    powertools_layer_version: int
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not 1 <= self.min_tasks <= self.max_tasks:
            raise ValueError(f"AppServiceSettings.min_tasks/max_tasks: {self.min_tasks}/{self.max_tasks}; need 1 <= min_tasks <= max_tasks")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"AppServiceSettings.port: {self.port} is not a TCP port (1-65535)")


@dataclass(frozen=True, kw_only=True)
class ServiceNetwork:
    """Where the tasks run, and the groups of the service and of the migration task and its trigger."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    service_security_group: ec2.ISecurityGroup
    migration_security_group: ec2.ISecurityGroup
    migration_trigger_security_group: ec2.ISecurityGroup


@dataclass(frozen=True, kw_only=True)
class ServiceDatabase:
    cluster: rds.IDatabaseCluster
    master_secret: secretsmanager.ISecret  # the migration task's only; the service never reads it
    master_secret_key: kms.IKey


@dataclass(frozen=True, kw_only=True)
class ServiceCache:
    address: str
    port: str
    auth_secret: secretsmanager.ISecret


@dataclass(frozen=True, kw_only=True)
class RecordsStorage:
    """The PHI buckets (of the data tier: another stack) and the key their objects are encrypted with."""

    records_bucket: s3.IBucket
    imaging_bucket: s3.IBucket
    data_key: kms.IKey

    @property
    def buckets(self) -> list[s3.IBucket]:
        # The order names the fixed exports <data stack>-PhiBucket0Arn / -PhiBucket1Arn: keep it.
        return [self.records_bucket, self.imaging_bucket]


@dataclass(frozen=True, kw_only=True)
class SignIn:
    """The Cognito user pool whose access tokens the service verifies, and its public app client."""

    user_pool: cognito.IUserPool
    user_pool_client: cognito.IUserPoolClient


class AppService(ecs.FargateService):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: AppServiceSettings,
        network: ServiceNetwork,
        database: ServiceDatabase,
        cache: ServiceCache,
        storage: RecordsStorage,
        logs_key: kms.IKey,
        sign_in: SignIn | None = None,
    ) -> None:
        stack = cdk.Stack.of(scope)
        if stack.region not in GUARDDUTY_AGENT_ACCOUNTS:
            raise ValueError(f"AppService: no GuardDuty Fargate agent repository known for {stack.region}; add it to GUARDDUTY_AGENT_ACCOUNTS")

        # --- cluster, logs, roles ---------------------------------------------------------------
        cluster = ecs.Cluster(scope, "Cluster", vpc=network.vpc, container_insights_v2=ecs.ContainerInsights.ENHANCED)
        log_group = logs.LogGroup(
            scope, "ServiceLogs", encryption_key=logs_key, retention=settings.log_retention, removal_policy=settings.removal_policy
        )
        task_role = ManagedPolicyRole(
            scope,
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
                scope,
                "ServiceImage",
                directory=SERVICE_DIR,
                platform=ecr_assets.Platform.LINUX_ARM64,
                exclude=["**/__pycache__", "**/*.pyc", SIDECAR_DIR],
            )
        )
        migration = DatabaseMigration(
            scope,
            "DatabaseMigration",
            settings=MigrationSettings(ca_file=DB_CA_FILE, container_user=CONTAINER_USER, powertools_layer_version=settings.powertools_layer_version),
            cluster=cluster,
            image=image,
            log_group=log_group,
            vpc=network.vpc,
            subnets=network.subnets,
            task_security_group=network.migration_security_group,
            trigger_security_group=network.migration_trigger_security_group,
            database=database.cluster,
            master_secret=database.master_secret,
            master_secret_key=database.master_secret_key,
            logs_key=logs_key,
            queue_key=storage.data_key,
            log_retention=settings.log_retention,
            removal_policy=settings.removal_policy,
        )
        migration.grant_service_connect(task_role)
        _grant_records(task_role, storage)
        _grant_xray(task_role)
        execution_role = _execution_role(scope, cache.auth_secret, [migration.execution_role])

        # --- task definition ----------------------------------------------------------------------
        # Referenced without its key, so the grant stays in the execution role's policy instead of adding
        # the role to the key policy in the Keys stack (a dependency cycle).
        cache_token = secretsmanager.Secret.from_secret_attributes(scope, "CacheAuthToken", secret_complete_arn=cache.auth_secret.secret_arn)
        environment = {
            # Names and addresses only: no database password exists for the service (IAM token), and
            # the cache token comes from Secrets Manager.
            **migration.service_environment(),
            "DB_CA_FILE": DB_CA_FILE,
            "REDIS_HOST": cache.address,
            "REDIS_PORT": cache.port,
            "PORT": str(settings.port),
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "LOG_LEVEL": settings.log_level,
            **records_environment(storage, sign_in, region=stack.region),
        }
        task_definition = _task_definition(
            scope,
            settings,
            image=image,
            log_group=log_group,
            task_role=task_role,
            execution_role=execution_role,
            environment=environment,
            secrets={"REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(cache_token)},
        )

        # --- service ------------------------------------------------------------------------------
        target_group = _target_group(scope, network.vpc, settings.port)
        super().__init__(
            scope,
            construct_id,
            cluster=cluster,
            task_definition=task_definition,
            desired_count=settings.min_tasks,
            vpc_subnets=network.subnets,
            security_groups=[network.service_security_group],
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
        self.log_group = log_group
        self.task_role = task_role
        self.execution_role = execution_role
        self.migration = migration
        self.target_group = target_group
        target_group.add_target(self.load_balancer_target(container_name=APP_CONTAINER, container_port=settings.port))
        # New service code starts only on a migrated schema; a failed migration stops the deploy here.
        self.node.add_dependency(migration.resource)

        self.scaling = self.auto_scale_task_count(min_capacity=settings.min_tasks, max_capacity=settings.max_tasks)
        self.scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=settings.cpu_target_percent)
        self.scaling.scale_on_memory_utilization("Memory", target_utilization_percent=settings.memory_target_percent)
        self._requests_per_target = settings.requests_per_target
        trace(
            self,
            ["R4", "R1"],
            ["reliability", "performance-efficiency", "cost-optimisation"],
            "Fargate ARM64 tasks over three AZs, autoscaled on CPU, memory and requests, rolled back by the circuit breaker.",
        )
        trace(
            self,
            ["R4"],
            ["sustainability"],
            "ARM64 (Graviton) Fargate tasks, as many as demand needs between the configured bounds: no idle servers, less energy per request.",
        )

    def scale_on_requests(self) -> None:
        """Scale on the ALB's requests per target too. Call it once a listener forwards to ``target_group``:
        the scaling metric names the load balancer, which CDK reads from the target group's first listener."""
        self.scaling.scale_on_request_count("Requests", requests_per_target=self._requests_per_target, target_group=self.target_group)


def records_environment(storage: RecordsStorage, sign_in: SignIn | None, *, region: str) -> dict[str, str]:
    """What the records API needs to find its buckets, key and user pool: names and ids, no credential."""
    environment = {
        "RECORDS_BUCKET": storage.records_bucket.bucket_name,
        "IMAGING_BUCKET": storage.imaging_bucket.bucket_name,
        # Presigned uploads name this key (x-amz-server-side-encryption-aws-kms-key-id): the PHI bucket
        # policy refuses any other (constructs/phi_bucket.py).
        "DATA_KEY_ARN": storage.data_key.key_arn,
        "AWS_REGION": region,
    }
    if sign_in is not None:
        environment |= {
            "COGNITO_USER_POOL_ID": sign_in.user_pool.user_pool_id,
            "COGNITO_CLIENT_ID": sign_in.user_pool_client.user_pool_client_id,
            "COGNITO_REGION": sign_in.user_pool.env.region,
        }
    return environment


def _grant_records(role: iam.Role, storage: RecordsStorage) -> None:
    """PHI objects read and write (no delete, no bucket admin); the data key only through S3."""
    object_arns = [_objects_arn(role, bucket, index) for index, bucket in enumerate(storage.buckets)]
    role.add_to_principal_policy(iam.PolicyStatement(sid="PhiObjects", actions=PHI_OBJECT_ACTIONS, resources=[a for a, _ in object_arns]))
    role.add_to_principal_policy(iam.PolicyStatement(sid="PhiList", actions=["s3:ListBucket"], resources=[b.bucket_arn for b in storage.buckets]))
    # SSE-KMS objects in the PHI buckets: only S3 may use the key for the task (kms:ViaService), so the
    # role's credentials cannot decrypt anything directly; the key policy admits the same.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="DataKey",
            actions=DATA_KEY_ACTIONS,
            resources=[storage.data_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{cdk.Stack.of(role).region}.amazonaws.com"}},
        )
    )
    for _, finding in object_arns:
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{finding}]",
            f"Object keys under {RECORDS_OBJECT_PREFIX} inside one named PHI bucket: record objects are created at runtime under "
            "random ids and cannot be listed in a policy; only object reads, writes and multipart-upload parts are allowed "
            "on them, never a delete.",
        )


def _objects_arn(role: iam.Role, bucket: s3.IBucket, index: int) -> tuple[str, str]:
    """``<bucket ARN>/records/*`` and the cdk-nag finding it raises. A bucket of another stack is referenced through an
    export with a fixed name, so the finding id (and its acknowledgment) is known at construction time."""
    producer = cdk.Stack.of(bucket)
    if producer is cdk.Stack.of(role):
        raise ValueError("AppService: PHI buckets belong to the data tier, not the service's stack")
    name = f"{producer.stack_name}-PhiBucket{index}Arn"
    producer.export_value(bucket.bucket_arn, name=name)
    return f"{cdk.Fn.import_value(name)}/{RECORDS_OBJECT_PREFIX}*", f"{name}/{RECORDS_OBJECT_PREFIX}*"


def _execution_role(scope: Construct, cache_auth_secret: secretsmanager.ISecret, others: list[iam.Role]) -> ManagedPolicyRole:
    """The ECS agent's role: pull the images, write logs, inject the cache token; and the GuardDuty agent
    pull for it and ``others`` (the migration task's execution role)."""
    stack = cdk.Stack.of(scope)
    role = ManagedPolicyRole(
        scope,
        "ExecutionRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description="ECS agent for the MediVault app: pull the image, write logs, inject secrets",
    )
    if cache_auth_secret.encryption_key is not None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptInjectedSecrets",
                actions=["kms:Decrypt"],
                resources=[cache_auth_secret.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
    # GuardDuty Runtime Monitoring (agent management on, Audit stack) injects its security agent as a
    # sidecar into every new task; the execution role pulls it from GuardDuty's regional repository:
    # https://docs.aws.amazon.com/guardduty/latest/ug/ecs-runtime-agent-ecr-image-uri.html
    for each in (role, *others):
        each.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullGuardDutyAgent",
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[
                    f"arn:{stack.partition}:ecr:{stack.region}:{GUARDDUTY_AGENT_ACCOUNTS[stack.region]}:repository/aws-guardduty-agent-fargate"
                ],
            )
        )
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken has no resource-level permissions; image pulls, log writes and secret reads are scoped.",
    )
    return role


def _task_definition(
    scope: Construct,
    settings: AppServiceSettings,
    *,
    image: ecs.ContainerImage,
    log_group: logs.ILogGroup,
    task_role: iam.IRole,
    execution_role: iam.IRole,
    environment: dict[str, str],
    secrets: dict[str, ecs.Secret],
) -> ecs.FargateTaskDefinition:
    """The service container (read-only root, non-root, /healthz) and the ADOT sidecar, ARM64."""
    task_definition = ecs.FargateTaskDefinition(
        scope,
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
        port_mappings=[ecs.PortMapping(container_port=settings.port, protocol=ecs.Protocol.TCP)],
        environment=environment,
        secrets=secrets,
        logging=ecs.LogDrivers.aws_logs(stream_prefix=APP_CONTAINER, log_group=log_group, mode=ecs.AwsLogDriverMode.NON_BLOCKING),
        health_check=ecs.HealthCheck(
            command=[
                "CMD",
                "python",
                "-c",
                f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{settings.port}{HEALTH_CHECK_PATH}', timeout=2)",
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
    if not settings.tracing_sidecar_pinned:
        refuse_deploy(
            scope,
            "RequireSidecarDigest",
            message="MediVault app: app.tracing_sidecar_digest is not set. Pin the ADOT collector by its index digest "
            "(docker buildx imagetools inspect <app.tracing_sidecar_image>) in stacks/config/app.py before deploying.",
        )
    acknowledge(
        task_definition,
        "AwsSolutions-ECS2",
        "The environment holds only non-secret settings (database host, port, name and user, cache host and port, CA path, "
        "PHI bucket names, the data key ARN, Cognito pool and client ids, sidecar config); the Redis token is injected from "
        "Secrets Manager and the database login is a 15-minute IAM token the task signs itself: there is no database "
        "password in or behind the task definition.",
    )
    trace(
        task_definition,
        ["R10", "R13"],
        ["security", "operational-excellence"],
        "Read-only non-root containers; secrets from Secrets Manager; JSON logs to a KMS log group; X-Ray via the ADOT sidecar.",
    )
    return task_definition


def _target_group(scope: Construct, vpc: ec2.IVpc, port: int) -> elbv2.ApplicationTargetGroup:
    # What the ALB forwards to (constructs/cloudfront_only_alb.py): the tasks' IPs on the app port.
    return elbv2.ApplicationTargetGroup(
        scope,
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


def _grant_xray(role: iam.Role) -> None:
    role.add_to_principal_policy(iam.PolicyStatement(sid="XRay", actions=XRAY_ACTIONS, resources=["*"]))
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "Only the X-Ray actions (PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) use Resource '*': "
        "X-Ray has no resource-level permissions for them.",
    )
