"""The deploy-time schema migration of the records database (R6, R10), and the service's way in.

    CloudFormation --Custom::DatabaseMigrations (on create, and when the migration set changes)-->
      mv_db_migration function --ecs:RunTask--> one Fargate task of the SERVICE IMAGE running
      ``python -m medivault_service.migrate`` as the Aurora master user --> waits for it to stop -->
      SUCCESS (exit 0) or FAILED (exit code, stopped reason, log stream): the deploy stops there.
    The Fargate service depends on that resource: new service code starts only on a migrated schema.

- The migrations are ``service/medivault_service/migrations/*.sql``, shipped in the image; the
  resource's ``MigrationsHash`` property is derived from their names and contents, so changing a
  migration re-runs the step, and so does a replaced cluster (``DatabaseResourceId``); nothing
  else does. The task refuses to run if the image's set
  is not the one whose hash the template carries.
- The migration task definition is separate from the service's: its task role may read the master
  secret and nothing else (no S3, no rds-db:connect); the service's task role has no access to
  the master secret at all, only ``rds-db:connect`` as ``medivault_service`` (``grant_service_connect``).
- Security groups come from the Network stack (constructs/tier_security_groups.py): the task reaches
  Aurora 5432, the interface endpoints and S3; the function reaches the ECS endpoint and S3.
- Order at deploy: this stack deploys after the Data stack (cluster, writer and reader instances,
  the secret's target attachment) and the Network stack (groups, endpoints); inside it, the custom
  resource waits for the task definition, both roles' policies and the function.

AWS documentation:
- IAM database authentication, Aurora PostgreSQL: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html
- rds-db:connect resource ARN ``arn:aws:rds-db:<region>:<account>:dbuser:<DbClusterResourceId>/<db user>``:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrdsiamauthentication.html
- Custom resources and their timeout: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html
- ECS RunTask (awsvpc, Fargate) and the permissions it needs (ecs:RunTask on the task definition,
  iam:PassRole on its roles): https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
- Fargate tasks pull images and secrets and send logs through the task's own ENI (platform 1.4):
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.medivault_function import MediVaultFunction
from constructs.traceability import trace

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "service" / "medivault_service" / "migrations"
# The service's database role (created by migrations/0001; the service's SERVICE_DB_USER).
SERVICE_DB_USER = "medivault_service"
# Aurora's default database (the cluster is created without DatabaseName).
DATABASE_NAME = "postgres"
CONTAINER_NAME = "migrate"
LOG_STREAM_PREFIX = "migrate"
RESOURCE_TYPE = "Custom::DatabaseMigrations"
MIGRATE_COMMAND = ["python", "-m", "medivault_service.migrate"]
FUNCTION_TIMEOUT = cdk.Duration.minutes(15)  # Lambda's maximum; the function polls within it
# CloudFormation waits this long for the function's answer (it answers before its own timeout).
SERVICE_TIMEOUT = cdk.Duration.minutes(17)


def migrations_hash(directory: Path = MIGRATIONS_DIR) -> str:
    """SHA-256 over each migration file's name and content hash, in order; the same value as
    ``medivault_service.migrate.set_hash`` (a test keeps them equal)."""
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise ValueError(f"DatabaseMigration: no migrations in {directory}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class MigrationSettings:
    ca_file: str  # the RDS CA bundle inside the image
    container_user: str  # the image's non-root user
    cpu: int = 256
    memory_mib: int = 512
    powertools_layer_version: int


class DatabaseMigration(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: MigrationSettings,
        cluster: ecs.ICluster,
        image: ecs.ContainerImage,
        log_group: logs.ILogGroup,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        task_security_group: ec2.ISecurityGroup,
        trigger_security_group: ec2.ISecurityGroup,
        database: rds.IDatabaseCluster,
        master_secret: secretsmanager.ISecret,
        master_secret_key: kms.IKey,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        migrations_dir: Path = MIGRATIONS_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.database = database
        self.migrations_hash = migrations_hash(migrations_dir)

        # --- the one-off task: service image, master secret only ---------------------------------
        self.task_role = ManagedPolicyRole(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="MediVault schema migration task: read the Aurora master secret, nothing else",
        )
        # Explicit statements, not grant_read: that would add this role to the key policy in the Keys stack.
        self.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MasterSecret",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[master_secret.secret_arn],
            )
        )
        self.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MasterSecretKey",
                actions=["kms:Decrypt"],
                resources=[master_secret_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
        self.execution_role = ManagedPolicyRole(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="ECS agent for the MediVault schema migration task: pull the image, write logs",
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=settings.cpu,
            memory_limit_mib=settings.memory_mib,
            runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX),
            task_role=self.task_role,
            execution_role=self.execution_role,
        )
        self.task_definition.add_container(
            CONTAINER_NAME,
            image=image,
            command=MIGRATE_COMMAND,
            essential=True,
            readonly_root_filesystem=True,
            user=settings.container_user,
            environment={
                # Names only: the master credentials are read from Secrets Manager at run time.
                "DB_SECRET_ARN": master_secret.secret_arn,
                "DB_CA_FILE": settings.ca_file,
                "DB_REGION": stack.region,
                "DB_NAME": DATABASE_NAME,
                "LOG_LEVEL": "INFO",
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix=LOG_STREAM_PREFIX, log_group=log_group),
            stop_timeout=cdk.Duration.seconds(30),
        )
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The environment holds only non-secret settings (the master secret's ARN, CA path, region, database name); "
            "the master credentials are read from Secrets Manager by the task role at run time, never put in the task definition.",
        )
        acknowledge(
            self.execution_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; the image pull and log writes are scoped to one "
            "repository and one log group.",
        )

        # --- the custom resource's function: start the task, wait, answer ---------------------------
        self.function = MediVaultFunction(
            self,
            "TriggerFunction",
            source="mv_db_migration",
            description="CloudFormation custom resource: run the schema migration task and wait for its exit code",
            vpc=vpc,
            vpc_subnets=subnets,
            security_group=trigger_security_group,
            logs_key=logs_key,
            queue_key=queue_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
            powertools_layer_version=settings.powertools_layer_version,
            timeout=FUNCTION_TIMEOUT,
            reserved_concurrency=1,
        )
        on_cluster = {"ArnEquals": {"ecs:cluster": cluster.cluster_arn}}
        role = self.function.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunMigrationTask",
                actions=["ecs:RunTask"],
                resources=[self.task_definition.task_definition_arn],
                conditions=on_cluster,
            )
        )
        tasks = f"arn:{cdk.Aws.PARTITION}:ecs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:task/{cluster.cluster_name}/*"
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="WatchMigrationTask", actions=["ecs:DescribeTasks", "ecs:StopTask"], resources=[tasks], conditions=on_cluster)
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassMigrationRoles",
                actions=["iam:PassRole"],
                resources=[self.task_role.role_arn, self.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<{stack.get_logical_id(_cfn(cluster))}>/*]",
            "ECS assigns task IDs when RunTask starts the task, so DescribeTasks/StopTask are scoped to the tasks of this one "
            "cluster (and conditioned on ecs:cluster); RunTask itself names the one migration task definition revision.",
        )

        subnet_ids = vpc.select_subnets(
            availability_zones=subnets.availability_zones,
            one_per_az=subnets.one_per_az,
            subnet_filters=subnets.subnet_filters,
            subnet_group_name=subnets.subnet_group_name,
            subnet_type=subnets.subnet_type,
            subnets=subnets.subnets,
        ).subnet_ids
        self.resource = cdk.CustomResource(
            self,
            "Migrations",
            service_token=self.function.function.function_arn,
            resource_type=RESOURCE_TYPE,
            service_timeout=SERVICE_TIMEOUT,
            properties={
                "ClusterArn": cluster.cluster_arn,
                "TaskDefinitionArn": self.task_definition.task_definition_arn,
                "ContainerName": CONTAINER_NAME,
                "Subnets": subnet_ids,
                "SecurityGroups": [task_security_group.security_group_id],
                "MigrationsHash": self.migrations_hash,
                # A replaced cluster is an empty database: it gets the migrations too.
                "DatabaseResourceId": database.cluster_resource_identifier,
                "LogGroupName": log_group.log_group_name,
                "LogStreamPrefix": LOG_STREAM_PREFIX,
            },
        )
        # The task needs its roles' managed policies in place when it starts: the task definition
        # references the roles' ARNs, which does not order their policies. (The task definition and
        # the function are already ordered by the Ref/GetAtt above, and the function waits for its
        # own policy: constructs/medivault_function.py.)
        for role in (self.task_role, self.execution_role):
            self.resource.node.add_dependency(role)
        trace(
            self,
            ["R6", "R10"],
            ["security", "operational-excellence", "reliability"],
            "Schema migrations run at deploy, as the master user, in a one-off task of the service image; the deploy fails "
            "with the task's exit code before the service is updated.",
        )

    def grant_service_connect(self, role: iam.IRole) -> None:
        """``rds-db:connect`` as ``medivault_service`` on this cluster, and nothing else of the database."""
        stack = cdk.Stack.of(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DatabaseConnect",
                actions=["rds-db:connect"],
                resources=[
                    f"arn:{stack.partition}:rds-db:{stack.region}:{stack.account}:dbuser:"
                    f"{self.database.cluster_resource_identifier}/{SERVICE_DB_USER}"
                ],
            )
        )

    def service_environment(self) -> dict[str, str]:
        """How the service finds the database and who it logs in as; no credential."""
        endpoint = self.database.cluster_endpoint
        return {
            "DB_HOST": endpoint.hostname,
            "DB_PORT": cdk.Token.as_string(endpoint.port),
            "DB_NAME": DATABASE_NAME,
            "DB_USER": SERVICE_DB_USER,
            "DB_REGION": cdk.Stack.of(self).region,
        }


def _cfn(cluster: ecs.ICluster) -> cdk.CfnElement:
    resource = cluster.node.default_child
    if not isinstance(resource, cdk.CfnElement):
        raise ValueError("DatabaseMigration: the ECS cluster must be defined in this app (its CloudFormation resource names the task ARNs)")
    return resource
