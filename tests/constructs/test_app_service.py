"""AppService in a bare stack: what the records service may do with PHI objects and the data key, what it
is told through its environment, and that the L2 subclass kept the App stack's logical IDs.

AWS behaviour the task role is built on:
- a presigned URL acts with the permissions of the principal that signed it (the task role): "The
  credentials used by the presigned URL are those of the IAM principal who generated the URL"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html);
- SSE-KMS: a PUT needs kms:GenerateDataKey, a GET kms:Decrypt; a multipart upload needs both, Decrypt because
  S3 decrypts and reads the encrypted parts before completing the upload
  (https://repost.aws/knowledge-center/s3-large-file-encryption-kms-key,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions); ListParts needs
  s3:ListMultipartUploadParts, AbortMultipartUpload s3:AbortMultipartUpload, the rest of a multipart upload s3:PutObject;
- HeadObject returns x-amz-object-lock-mode / retain-until-date "only if the requester has the
  s3:GetObjectRetention permission" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html);
  GetObjectAttributes without a version id needs s3:GetObject and s3:GetObjectAttributes
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html); a HEAD with checksum mode on an
  SSE-KMS object needs kms:Decrypt;
- Cognito: InitiateAuth and RespondToAuthChallenge are unauthenticated operations for public clients, and the
  JWKS (/.well-known/jwks.json) is a public endpoint: no IAM permission
  (https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flows-public-server-side.html,
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template
from constructs.app_service import (
    AppService,
    AppServiceSettings,
    RecordsStorage,
    ServiceCache,
    ServiceDatabase,
    ServiceNetwork,
    SignIn,
)

from tests.constructs.conftest import ENV, acknowledged, bare_app, bare_stack, logical_id, traces, vpc

pytestmark = pytest.mark.requirements("R4", "R7", "R10", "R13")

SETTINGS = AppServiceSettings(
    cpu=1024,
    memory_mib=2048,
    min_tasks=3,
    max_tasks=30,
    cpu_target_percent=60,
    memory_target_percent=70,
    requests_per_target=1000,
    port=8080,
    tracing_sidecar_source="public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
    tracing_sidecar_pinned=False,
    log_retention=logs.RetentionDays.ONE_YEAR,
    removal_policy=cdk.RemovalPolicy.RETAIN,
    powertools_layer_version=27,
)


@dataclass
class Built:
    data: cdk.Stack
    stack: cdk.Stack
    service: AppService
    records: s3.Bucket
    imaging: s3.Bucket
    key: kms.Key
    pool: cognito.UserPool
    client: cognito.UserPoolClient
    template: Template


def _build(*, sign_in: bool = True, env: cdk.Environment = ENV, attach: bool = True) -> Built:
    app = bare_app()
    data = bare_stack(app, "Data", env=env)
    records, imaging = s3.Bucket(data, "Records"), s3.Bucket(data, "Imaging")
    key = kms.Key(data, "DataKey")
    pool = cognito.UserPool(data, "Pool")
    client = pool.add_client("Client")
    cache_secret = secretsmanager.Secret(data, "CacheToken", encryption_key=key)
    stack = bare_stack(app, "Svc", env=env)
    network = vpc(stack)
    groups = [ec2.SecurityGroup(stack, name, vpc=network) for name in ("App", "Migration", "Trigger")]
    cluster = rds.DatabaseCluster.from_database_cluster_attributes(
        stack,
        "Db",
        cluster_identifier="medivault-test-records",
        cluster_resource_identifier="cluster-ABCDEFGHIJKL",
        cluster_endpoint_address="db.example.internal",
        port=cdk.Token.as_number(cdk.Fn.import_value("DbPort")),  # a deploy-time value, as the data stack's is
    )
    service = AppService(
        stack,
        "Service",
        settings=SETTINGS,
        network=ServiceNetwork(
            vpc=network,
            subnets=ec2.SubnetSelection(subnet_group_name="App"),
            service_security_group=groups[0],
            migration_security_group=groups[1],
            migration_trigger_security_group=groups[2],
        ),
        database=ServiceDatabase(
            cluster=cluster,
            master_secret=secretsmanager.Secret.from_secret_complete_arn(
                stack, "Master", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:master-AbCdEf"
            ),
            master_secret_key=kms.Key(stack, "MasterKey"),
        ),
        cache=ServiceCache(address="cache.example.internal", port="6379", auth_secret=cache_secret),
        storage=RecordsStorage(records_bucket=records, imaging_bucket=imaging, data_key=key),
        logs_key=kms.Key(stack, "LogsKey"),
        sign_in=SignIn(user_pool=pool, user_pool_client=client) if sign_in else None,
    )
    if attach:
        alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=network)
        alb.add_listener("Http", port=80, default_target_groups=[service.target_group])
        service.scale_on_requests()
    return Built(data, stack, service, records, imaging, key, pool, client, Template.from_stack(stack))


@pytest.fixture(scope="module")
def built() -> Built:
    return _build()


def _statements(built: Built) -> dict[str, dict[str, Any]]:
    [policy] = [
        p["Properties"]
        for p in built.template.find_resources("AWS::IAM::ManagedPolicy").values()
        if p["Properties"].get("Roles") == [{"Ref": logical_id(built.service.task_role)}]
    ]
    return {s.get("Sid", ""): s for s in policy["PolicyDocument"]["Statement"]}


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _environment(built: Built) -> dict[str, Any]:
    [task] = [
        t["Properties"]
        for lid, t in built.template.find_resources("AWS::ECS::TaskDefinition").items()
        if lid == logical_id(built.service.task_definition)
    ]
    [app] = [c for c in task["ContainerDefinitions"] if c["Name"] == "app"]
    return {e["Name"]: e["Value"] for e in app["Environment"]}


def _exported_value(built: Built, value: Any) -> Any:
    """The producer-side expression behind a cross-stack value: an Fn::ImportValue of a named export, or the
    weak reference (Fn::GetStackOutput) the project's feature flag makes of every other cross-stack value."""
    outputs = Template.from_stack(built.data).to_json()["Outputs"]
    if "Fn::ImportValue" in value:
        [output] = [o for o in outputs.values() if o.get("Export", {}).get("Name") == value["Fn::ImportValue"]]
    else:
        assert value["Fn::GetStackOutput"]["StackName"] == built.data.stack_name
        output = outputs[value["Fn::GetStackOutput"]["OutputName"]]
    return output["Value"]


def _exported(built: Built, value: Any) -> str:
    """The producer-side logical ID behind a cross-stack value."""
    ref = _exported_value(built, value)
    return str(ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0])


def test_task_role_presigns_uploads_downloads_and_multipart_but_never_deletes(built: Built) -> None:
    statements = _statements(built)
    assert _actions(statements["PhiObjects"]) == {
        "s3:PutObject",  # PUT; CreateMultipartUpload, UploadPart, CompleteMultipartUpload
        "s3:GetObject",  # GET and the confirm step's HEAD
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:GetObjectAttributes",
        "s3:GetObjectRetention",  # HEAD shows the lock mode only with it
        "s3:GetObjectVersion",  # GET / HEAD of the confirmed version id (S3 API reference, GetObject "Permissions")
    }
    resources = json.dumps(statements["PhiObjects"]["Resource"])
    # Only the records service's own prefix, never the whole bucket.
    assert resources.count("Fn::ImportValue") == 2 and resources.count('"/records/*"') == 2 and '"/*"' not in resources
    for index, bucket in enumerate((built.records, built.imaging)):
        assert f"Data-PhiBucket{index}Arn" in resources
        assert _exported(built, {"Fn::ImportValue": f"Data-PhiBucket{index}Arn"}) == logical_id(bucket)
    assert _actions(statements["PhiList"]) == {"s3:ListBucket"}
    every = set().union(*(_actions(s) for s in statements.values()))
    assert not [a for a in every if a.startswith(("s3:Delete", "s3:PutObjectRetention", "s3:Bypass")) or a.endswith("*")], every
    assert [sid for sid, s in statements.items() if s["Resource"] == "*"] == ["XRay"]


def test_data_key_only_through_s3(built: Built) -> None:
    key = _statements(built)["DataKey"]
    assert _actions(key) == {"kms:GenerateDataKey", "kms:Decrypt"}, "no kms:Encrypt: S3 generates data keys for the task"
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}
    assert _exported_value(built, key["Resource"]) == {"Fn::GetAtt": [logical_id(built.key), "Arn"]}


def test_no_cognito_permissions_are_needed(built: Built) -> None:
    every = set().union(*(_actions(s) for s in _statements(built).values()))
    assert not [a for a in every if a.startswith(("cognito", "secretsmanager:"))], every


def test_environment_names_the_buckets_the_key_and_the_user_pool(built: Built) -> None:
    env = _environment(built)
    assert _exported_value(built, env["RECORDS_BUCKET"]) == {"Ref": logical_id(built.records)}
    assert _exported_value(built, env["IMAGING_BUCKET"]) == {"Ref": logical_id(built.imaging)}
    assert _exported_value(built, env["DATA_KEY_ARN"]) == {"Fn::GetAtt": [logical_id(built.key), "Arn"]}
    assert env["AWS_REGION"] == "eu-central-1"
    assert _exported(built, env["COGNITO_USER_POOL_ID"]) == logical_id(built.pool)
    assert _exported(built, env["COGNITO_CLIENT_ID"]) == logical_id(built.client)
    assert env["COGNITO_REGION"] == "eu-central-1"
    assert env["REDIS_HOST"] == "cache.example.internal" and env["PORT"] == "8080"
    # The cache token is injected by the ECS agent, never a plain value.
    assert not [name for name in env if "TOKEN" in name or "PASSWORD" in name or "SECRET" in name]


def test_without_a_user_pool_the_service_gets_no_cognito_settings() -> None:
    env = _environment(_build(sign_in=False))
    assert not [name for name in env if name.startswith("COGNITO_")]
    assert {"RECORDS_BUCKET", "IMAGING_BUCKET", "DATA_KEY_ARN", "AWS_REGION"} <= set(env)


def test_the_service_starts_only_after_the_migration(built: Built) -> None:
    service = built.template.to_json()["Resources"][logical_id(built.service)]
    assert logical_id(built.service.migration.resource.node.default_child) in service["DependsOn"]


def test_autoscaling_on_cpu_memory_and_requests(built: Built) -> None:
    [target] = built.template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (3, 30)
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p["Properties"][
            "TargetTrackingScalingPolicyConfiguration"
        ]["TargetValue"]
        for p in built.template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert policies == {"ECSServiceAverageCPUUtilization": 60, "ECSServiceAverageMemoryUtilization": 70, "ALBRequestCountPerTarget": 1000}


def test_request_scaling_needs_a_listener_first() -> None:
    """Why the stack calls scale_on_requests() after building the ALB: the metric names the load balancer."""
    built = _build(attach=False)
    with pytest.raises(RuntimeError, match="attached to a LoadBalancer"):
        built.service.scale_on_requests()


def test_target_group_health_checks_the_service(built: Built) -> None:
    group = built.template.to_json()["Resources"][logical_id(built.service.target_group)]["Properties"]
    assert (group["Port"], group["Protocol"], group["TargetType"]) == (8080, "HTTP", "ip")
    assert (group["HealthCheckPath"], group["Matcher"]) == ("/healthz", {"HttpCode": "200"})


def test_logical_ids_are_those_of_resources_created_directly_in_the_stack(built: Built) -> None:
    """The App stack's ECS service, log group, roles and task definition kept their IDs in the move."""
    plain = bare_stack(name="Plain")
    network = vpc(plain)
    cluster = ecs.Cluster(plain, "Cluster", vpc=network)
    task = ecs.FargateTaskDefinition(plain, "Task")
    task.add_container("app", image=ecs.ContainerImage.from_registry("example"))
    expected = {
        logical_id(cluster),
        logical_id(logs.LogGroup(plain, "ServiceLogs")),
        logical_id(iam.Role(plain, "TaskRole", assumed_by=iam.AccountRootPrincipal())),
        logical_id(iam.Role(plain, "ExecutionRole", assumed_by=iam.AccountRootPrincipal())),
        logical_id(task),
        logical_id(elbv2.ApplicationTargetGroup(plain, "Targets", vpc=network, port=80)),
        logical_id(ecs.FargateService(plain, "Service", cluster=cluster, task_definition=task)),
    }
    assert expected <= set(built.template.to_json()["Resources"])


def test_acknowledgments_sit_on_the_roles_and_the_task_definition(built: Built) -> None:
    role = acknowledged(built.template, logical_id(built.service.task_role))
    assert {"AwsSolutions-IAM5[Resource::*]", "AwsSolutions-IAM5[Resource::Data-PhiBucket0Arn/records/*]"} <= set(role)
    assert "never a delete" in role["AwsSolutions-IAM5[Resource::Data-PhiBucket1Arn/records/*]"]
    assert "AwsSolutions-IAM5[Resource::*]" in acknowledged(built.template, logical_id(built.service.execution_role))
    assert "AwsSolutions-ECS2" in acknowledged(built.template, logical_id(built.service.task_definition))
    assert [t["requirements"] for t in traces(built.service)] == [["R4", "R1"], ["R4"]]


def test_unpinned_sidecar_refuses_the_deploy(built: Built) -> None:
    assert "RequireSidecarDigest" in built.template.to_json()["Rules"]


def test_a_region_without_a_known_guardduty_agent_repository_fails_synth() -> None:
    with pytest.raises(ValueError, match=r"^AppService: no GuardDuty Fargate agent repository known for ap-south-2"):
        _build(env=cdk.Environment(account="123456789012", region="ap-south-2"))


def test_settings_refuse_inverted_task_counts() -> None:
    with pytest.raises(ValueError, match=r"^AppServiceSettings.min_tasks/max_tasks: 5/2"):
        AppServiceSettings(**{**SETTINGS.__dict__, "min_tasks": 5, "max_tasks": 2})


def test_the_task_role_prefix_is_the_one_the_service_writes_under() -> None:
    """A key prefix change in the service without the role (or the reverse) would make every upload fail with
    403 at runtime; the two constants must stay equal."""
    from constructs.app_service import RECORDS_OBJECT_PREFIX
    from medivault_service.records import OBJECT_PREFIX

    assert OBJECT_PREFIX == RECORDS_OBJECT_PREFIX == "records/"
