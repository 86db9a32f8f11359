"""App tier (R4, R5, R10, R13): Fargate service, task definition, autoscaling, ALB, origin secret."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks import config as cfg
from stacks.composition import new_app, populate
from stacks.config.domain import DomainConfig
from tests.conftest import Synthesized, ingress_rules, resources_of
from tests.stacks.sg_eval import ALL_IPV4, ALL_IPV6, Assembly
from tests.stacks.test_egress import expected_egress

pytestmark = pytest.mark.requirements("R1", "R2", "R4", "R5", "R9", "R10", "R13")

TASKS = {"production": (3, 30), "sandbox": (1, 2)}


@pytest.fixture(scope="session")
def app_templates(synth: Synthesized) -> dict[str, Template]:
    return {name: synth.template(name, "app") for name in cfg.ENVIRONMENT_NAMES}


def _logical_id(stack: Any, token: str) -> str:
    """The logical ID a token points at in its own stack (Ref or Fn::GetAtt)."""
    resolved = stack.resolve(token)
    return str(resolved["Ref"] if "Ref" in resolved else resolved["Fn::GetAtt"][0])


def _data_key_output(synth: Synthesized, environment: str) -> dict[str, Any]:
    """The weak cross-stack reference (Fn::GetStackOutput) to the Keys stack's data key ARN."""
    keys = synth.stages[environment].keys
    key_id = keys.resolve(keys.data_key.key_arn)["Fn::GetAtt"][0]
    return {"StackName": keys.stack_name, "Region": "eu-central-1", "OutputName": Match.string_like_regexp(f"^PublishOutputFnGetAtt{key_id}Arn")}


def _is_data_key(synth: Synthesized, environment: str, value: Any) -> bool:
    keys = synth.stages[environment].keys
    key_id = keys.resolve(keys.data_key.key_arn)["Fn::GetAtt"][0]
    output = value["Fn::GetStackOutput"]
    return bool(
        output["StackName"] == keys.stack_name
        and output["Region"] == "eu-central-1"
        and output["OutputName"].startswith(f"PublishOutputFnGetAtt{key_id}Arn")
    )


def _one(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = resources_of(template, resource_type).values()
    return resource["Properties"]  # type: ignore[no-any-return]


def _service_task(template: Template) -> dict[str, Any]:
    """The service's task definition (the stack also holds the schema migration's)."""
    (task,) = [r["Properties"] for lid, r in resources_of(template, "AWS::ECS::TaskDefinition").items() if lid.startswith("Task")]
    return task  # type: ignore[no-any-return]


def _containers(template: Template) -> dict[str, dict[str, Any]]:
    return {c["Name"]: c for c in _service_task(template)["ContainerDefinitions"]}


def test_cluster_has_container_insights(app_templates: dict[str, Template], environment: str) -> None:
    assert _one(app_templates[environment], "AWS::ECS::Cluster")["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]


def test_service_in_private_app_subnets_of_three_azs(app_templates: dict[str, Template], synth: Synthesized, environment: str) -> None:
    service = _one(app_templates[environment], "AWS::ECS::Service")
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    stage = synth.stages[environment]
    app_subnet_ids = [stage.network.resolve(s.subnet_id)["Ref"] for s in stage.network.vpc.select_subnets(subnet_group_name="App").subnets]
    assert len(app_subnet_ids) == 3
    # Cross-stack references to the three App subnets (export names carry the subnets' logical IDs).
    assert len(network["Subnets"]) == 3
    for subnet, logical_id in zip(network["Subnets"], app_subnet_ids, strict=True):
        assert logical_id in json.dumps(subnet)
    (group,) = network["SecurityGroups"]
    assert stage.network.resolve(stage.network.app_security_group.security_group_id)["Fn::GetAtt"][0] in json.dumps(group)


def test_service_deployment_safety(app_templates: dict[str, Template], environment: str) -> None:
    service = _one(app_templates[environment], "AWS::ECS::Service")
    assert service["DesiredCount"] == TASKS[environment][0]
    assert service["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
    }
    assert service["AvailabilityZoneRebalancing"] == "ENABLED"
    assert service["LaunchType"] == "FARGATE"
    assert service["PlatformVersion"] == "LATEST"
    assert service["LoadBalancers"][0]["ContainerName"] == "app"
    assert service["LoadBalancers"][0]["ContainerPort"] == 8080


def test_task_definition_arm64_read_only_non_root(app_templates: dict[str, Template], environment: str) -> None:
    task = _service_task(app_templates[environment])
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    settings = cfg.load(environment, None).app
    assert (task["Cpu"], task["Memory"]) == (str(settings.cpu), str(settings.memory_mib))
    containers = _containers(app_templates[environment])
    assert set(containers) == {"app", "xray-collector"}
    for container in containers.values():
        assert container["ReadonlyRootFilesystem"] is True
        assert container["User"] == "10001:10001"
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert containers["app"]["Essential"] is True
    assert containers["app"]["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert containers["app"]["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert containers["app"]["DependsOn"] == [{"Condition": "START", "ContainerName": "xray-collector"}]
    assert "/healthz" in " ".join(containers["app"]["HealthCheck"]["Command"])
    assert "public.ecr.aws" not in json.dumps(containers["xray-collector"]["Image"])


def test_tracing_sidecar_is_a_private_digest_pinned_mirror(synth: Synthesized, app_templates: dict[str, Template], environment: str) -> None:
    """Issue 15 item 1: tasks pull the ADOT collector from the account's private ECR (through the
    ECR interface endpoints and the S3 gateway endpoint), never from public.ecr.aws; the mirror is
    built from the configured tag *and digest*, and a deploy without a digest is refused.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html"""
    settings = cfg.load(environment, None).app
    template = app_templates[environment]
    image = json.dumps(_containers(template)["xray-collector"]["Image"])
    assert "dkr.ecr" in image and "container-assets" in image
    stage = synth.stages[environment]
    manifest = synth.outdir / f"assembly-{stage.stage_name}" / f"{stage.app.artifact_id}.assets.json"
    build_args = [d["source"].get("dockerBuildArgs", {}) for d in json.loads(manifest.read_text())["dockerImages"].values()]
    assert {"ADOT_IMAGE": settings.tracing_sidecar_source} in build_args
    rules = template.to_json().get("Rules", {})
    assert ("RequireSidecarDigest" in rules) == (not settings.tracing_sidecar_digest)
    dockerfile = (Path(__file__).resolve().parents[2] / "service" / "tracing_sidecar" / "Dockerfile").read_text()
    assert re.findall(r"^(?:FROM|RUN) .*$", dockerfile, re.M) == ["FROM ${ADOT_IMAGE}"], "FROM only: no RUN to emulate on x86 builders"


def test_secrets_injected_never_plain(app_templates: dict[str, Template], synth: Synthesized, environment: str) -> None:
    app = _containers(app_templates[environment])["app"]
    data = synth.stages[environment].data
    env = {e["Name"]: e["Value"] for e in app["Environment"]}
    assert set(env) == {
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_REGION",
        "DB_CA_FILE",
        "REDIS_HOST",
        "REDIS_PORT",
        "PORT",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LOG_LEVEL",
        # The records API (issue 17): its buckets, the key presigned uploads name, the region, and the
        # Identity stack's user pool and app client (the access tokens' issuer and audience).
        "RECORDS_BUCKET",
        "IMAGING_BUCKET",
        "DATA_KEY_ARN",
        "AWS_REGION",
        "COGNITO_USER_POOL_ID",
        "COGNITO_CLIENT_ID",
        "COGNITO_REGION",
    }
    for name, bucket in (("RECORDS_BUCKET", data.records_bucket), ("IMAGING_BUCKET", data.imaging_bucket)):
        assert f"PublishOutputRef{data.resolve(bucket.bucket_name)['Ref']}" in env[name]["Fn::GetStackOutput"]["OutputName"], name
    assert _is_data_key(synth, environment, env["DATA_KEY_ARN"])
    assert env["AWS_REGION"] == env["COGNITO_REGION"] == "eu-central-1"
    identity = synth.stages[environment].identity
    for name, value in (
        ("COGNITO_USER_POOL_ID", identity.user_pool.user_pool_id),
        ("COGNITO_CLIENT_ID", identity.user_pool_client.user_pool_client_id),
    ):
        # Read from the Identity stack of the same stage, never a literal.
        assert f"PublishOutputRef{identity.resolve(value)['Ref']}" in env[name]["Fn::GetStackOutput"]["OutputName"], name
    # Cross-stack references to the data tier's cluster endpoint and cache endpoint: names, never values.
    cluster_id = _logical_id(data, data.database.cluster_endpoint.hostname)
    assert cluster_id in json.dumps(env["DB_HOST"]) and "EndpointAddress" in json.dumps(env["DB_HOST"])
    assert "EndpointPort" in json.dumps(env["DB_PORT"])
    assert (env["DB_USER"], env["DB_NAME"], env["DB_REGION"]) == ("medivault_service", "postgres", "eu-central-1")
    cache_id = _logical_id(data, data.cache_replication_group.attr_primary_end_point_address)
    assert cache_id in json.dumps(env["REDIS_HOST"]) and "PrimaryEndPointAddress" in json.dumps(env["REDIS_HOST"])
    assert "PrimaryEndPointPort" in json.dumps(env["REDIS_PORT"])
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000"
    assert env["DB_CA_FILE"] == "/etc/ssl/certs/rds-global-bundle.pem"
    # The only injected secret is the cache token: the service task has no database credential at all.
    (secret,) = app["Secrets"]
    assert secret["Name"] == "REDIS_AUTH_TOKEN"
    assert _logical_id(data, data.cache_auth_secret.secret_arn) in json.dumps(secret["ValueFrom"])


def test_logs_kms_encrypted_with_retention(app_templates: dict[str, Template], environment: str) -> None:
    # The service's log group, the origin-header rotation function's and the migration trigger's.
    groups = resources_of(app_templates[environment], "AWS::Logs::LogGroup")
    assert len(groups) == 3 and "ServiceLogs24DEC314" in groups
    for log_group in (g["Properties"] for g in groups.values()):
        assert "LogsKey" in json.dumps(log_group["KmsKeyId"])
        assert log_group["RetentionInDays"] == cfg.load(environment, None).log_retention_days


def _statements(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    policies = [
        p["Properties"]
        for p in resources_of(template, "AWS::IAM::ManagedPolicy").values()
        if any(r["Ref"].startswith(role_fragment) for r in p["Properties"].get("Roles", []))
    ]
    assert len(policies) == 1, role_fragment
    return policies[0]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_task_role_least_privilege(app_templates: dict[str, Template], synth: Synthesized, environment: str) -> None:
    template = app_templates[environment]
    assert resources_of(template, "AWS::IAM::Policy") == {}, "no inline policies"
    statements = {s.get("Sid", ""): s for s in _statements(template, "TaskRole")}
    # Presigned PUT/GET, multipart and the confirm step's HEAD act with these (tests/constructs/test_app_service.py cites why).
    assert _actions(statements["PhiObjects"]) == {
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:GetObjectAttributes",
        "s3:GetObjectRetention",
        "s3:GetObjectVersion",
        "s3:ListMultipartUploadParts",
        "s3:PutObject",
    }
    # The records service's prefix in each PHI bucket, nothing else.
    assert len(statements["PhiObjects"]["Resource"]) == 2
    assert all(json.dumps(r).endswith('"/records/*"]]}') for r in statements["PhiObjects"]["Resource"]), statements["PhiObjects"]["Resource"]
    assert _actions(statements["PhiList"]) == {"s3:ListBucket"}
    assert _actions(statements["DataKey"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert _is_data_key(synth, environment, statements["DataKey"]["Resource"])
    assert statements["DataKey"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}
    assert statements["XRay"]["Resource"] == "*"
    assert all(a.startswith("xray:") for a in _actions(statements["XRay"]))
    data = synth.stages[environment].data
    # The database: rds-db:connect as medivault_service, never the master secret (tests/stacks/test_database_migration.py).
    assert _actions(statements["DatabaseConnect"]) == {"rds-db:connect"}
    assert not [a for a in set().union(*(_actions(s) for s in statements.values())) if a.startswith("secretsmanager:")]
    for bucket in data.phi_buckets:
        assert _logical_id(data, bucket.bucket_arn) in json.dumps(statements["PhiList"]["Resource"])
    every_action = set().union(*(_actions(s) for s in statements.values()))
    assert not [a for a in every_action if a.endswith("*") or a.startswith("s3:Delete")], every_action
    # Only X-Ray has Resource "*".
    assert [sid for sid, s in statements.items() if s["Resource"] == "*"] == ["XRay"]


def test_autoscaling_on_cpu_memory_and_requests(app_templates: dict[str, Template], environment: str) -> None:
    template = app_templates[environment]
    target = _one(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == TASKS[environment]
    settings = cfg.load(environment, None).app
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p["Properties"][
            "TargetTrackingScalingPolicyConfiguration"
        ]["TargetValue"]
        for p in resources_of(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert policies == {
        "ECSServiceAverageCPUUtilization": settings.cpu_target_percent,
        "ECSServiceAverageMemoryUtilization": settings.memory_target_percent,
        "ALBRequestCountPerTarget": settings.requests_per_target,
    }


def test_alb_internet_facing_hardened_and_logged(app_templates: dict[str, Template], environment: str) -> None:
    template = app_templates[environment]
    alb = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == "internet-facing"
    assert len(alb["Subnets"]) == 3 and all("PublicSubnet" in json.dumps(s) for s in alb["Subnets"])
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == ("true" if environment == "production" else "false")
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.prefix"] == "alb"
    bucket = _one(template, "AWS::S3::Bucket")
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


def test_listeners_tls_redirect_and_default_deny(app_templates: dict[str, Template], environment: str) -> None:
    listeners = {
        lst["Properties"]["Port"]: lst["Properties"]
        for lst in resources_of(app_templates[environment], "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    if cfg.load(environment, None).domain is None:
        assert https["Certificates"] == [{"CertificateArn": cfg.load(environment, None).app.certificate_arn}]
    else:  # production always has a domain: its own DNS-validated certificate
        [certificate_id] = resources_of(app_templates[environment], "AWS::CertificateManager::Certificate")
        assert https["Certificates"] == [{"CertificateArn": {"Ref": certificate_id}}]
    assert https["DefaultActions"] == [
        {"FixedResponseConfig": {"ContentType": "text/plain", "MessageBody": "Forbidden", "StatusCode": "403"}, "Type": "fixed-response"}
    ]
    assert listeners[80]["DefaultActions"] == [{"RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}, "Type": "redirect"}]


def test_forward_only_with_the_secret_origin_header(app_templates: dict[str, Template], synth: Synthesized, environment: str) -> None:
    template = app_templates[environment]
    rule = _one(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    (secret_id,) = resources_of(template, "AWS::SecretsManager::Secret")
    (condition,) = rule["Conditions"]
    assert condition["Field"] == "http-header"
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == "X-Origin-Verify"
    # The value is a CloudFormation dynamic reference, resolved at deploy time: never in the template.
    (value,) = condition["HttpHeaderConfig"]["Values"]
    assert value == {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}
    (action,) = rule["Actions"]
    assert action["Type"] == "forward"
    assert rule["Priority"] == 1
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        # The data key of this stage's Keys stack, not merely some key.
        {
            "GenerateSecretString": Match.object_like({"ExcludePunctuation": True, "PasswordLength": 48}),
            "KmsKeyId": {"Fn::GetStackOutput": _data_key_output(synth, environment)},
        },
    )


def test_target_group_health_checks(app_templates: dict[str, Template], environment: str) -> None:
    group = _one(app_templates[environment], "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert (group["Port"], group["Protocol"], group["TargetType"]) == (8080, "HTTP", "ip")
    assert (group["HealthCheckPath"], group["Matcher"]) == ("/healthz", {"HttpCode": "200"})
    assert group["HealthyThresholdCount"] == 2 and group["UnhealthyThresholdCount"] == 3


def test_placeholder_certificate_refuses_deploy(app_templates: dict[str, Template], environment: str) -> None:
    if environment == "production":
        # Production always has a domain (its review placeholder is guarded by RefusePlaceholders instead).
        assert "RequireCertificate" not in app_templates[environment].to_json()["Rules"]
        return
    rules = app_templates[environment].to_json()["Rules"]
    assertion = rules["RequireCertificate"]["Assertions"][0]
    assert assertion["Assert"] == {"Fn::Equals": ["review-placeholder", "configured"]}
    assert "app.certificate_arn" in assertion["AssertDescription"]


def test_domain_gets_a_dns_validated_certificate(tmp_path: Path) -> None:
    domain = DomainConfig(domain_name="app.medivault.example", hosted_zone_id="Z0123456789ABCDEFGHIJ", hosted_zone_name="medivault.example")
    config = dataclasses.replace(cfg.sandbox("123456789012"), domain=domain)
    app = new_app(outdir=str(tmp_path))
    stages = populate(app, [config])
    app.synth()
    template = Template.from_stack(stages["sandbox"].app)
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": "app.medivault.example",
            "ValidationMethod": "DNS",
            # CloudFront connects to origin.<domain> (the edge stack's alias of the ALB) and checks it against this certificate.
            "SubjectAlternativeNames": ["origin.app.medivault.example"],
            "DomainValidationOptions": [
                {"DomainName": "app.medivault.example", "HostedZoneId": "Z0123456789ABCDEFGHIJ"},
                {"DomainName": "origin.app.medivault.example", "HostedZoneId": "Z0123456789ABCDEFGHIJ"},
            ],
        },
    )
    assert "RequireCertificate" not in template.to_json().get("Rules", {})
    https = [lst for lst in resources_of(template, "AWS::ElasticLoadBalancingV2::Listener").values() if lst["Properties"]["Port"] == 443]
    [certificate_id] = resources_of(template, "AWS::CertificateManager::Certificate")
    assert https[0]["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": certificate_id}}]


def test_security_group_graph_over_the_stage(synth: Synthesized, app_templates: dict[str, Template], environment: str) -> None:
    stage = synth.stages[environment]
    network = synth.template(environment, "network")
    data = synth.template(environment, "data")
    app = app_templates[environment]
    # The tier chain lives in the Network stack; the app stack adds only its origin-header rotation
    # function's group, which admits nothing (tests/stacks/test_secret_rotation.py checks its egress).
    groups = resources_of(app, "AWS::EC2::SecurityGroup")
    assert [g["Properties"]["GroupDescription"].split(":")[0] for g in groups.values()] == ["Origin-header rotation"]
    assert all("SecurityGroupIngress" not in g["Properties"] for g in groups.values())
    assert resources_of(app, "AWS::EC2::SecurityGroupIngress") == {}
    rules = ingress_rules(network) | ingress_rules(data) | ingress_rules(app)
    assert not [r for r in rules if r[1] in ("0.0.0.0/0", "::/0")], "nothing admits the whole internet"
    ids = {name: stage.network.resolve(group.security_group_id)["Fn::GetAtt"][0] for name, group in (
        ("alb", stage.network.alb_security_group),
        ("app", stage.network.app_security_group),
        ("database", stage.network.database_security_group),
        ("cache", stage.network.cache_security_group),
    )}  # fmt: skip
    prefix_list = cfg.load(environment, None).network.cloudfront_prefix_list_id
    by_group: dict[str, set[tuple[str, int]]] = {}
    for group, source, port in rules:
        by_group.setdefault(group, set()).add((source, port))
    assert by_group[ids["alb"]] == {(prefix_list, 443)}  # CloudFront only, HTTPS only (port 80 is not admitted)
    assert by_group[ids["app"]] == {(ids["alb"], 8080)}
    # The data tier is reachable only from the app tier (and the database from its own secret-rotation function and
    # the deploy-time schema migration task).
    rotation = stage.network.resolve(stage.network.rotation_security_group.security_group_id)["Fn::GetAtt"][0]
    migration = stage.network.resolve(stage.network.migration_security_group.security_group_id)["Fn::GetAtt"][0]
    assert by_group[ids["database"]] == {(ids["app"], 5432), (rotation, 5432), (migration, 5432)}
    assert by_group[ids["cache"]] == {(ids["app"], 6379)}
    # ... and, as EC2 enforces it, nothing sends to 0.0.0.0/0 or ::/0 except the table's one exception;
    # the app tier reaches only the endpoints, the S3 prefix list and the data tier.
    egress = Assembly(synth.outdir / f"assembly-{stage.stage_name}").effective_egress()
    assert {g for g, out in egress.items() if any(r[3] in (ALL_IPV4, ALL_IPV6) for r in out)} == {
        "Backup/ReadinessSecurityGroup",
        "App/OriginSecretRotationSecurityGroup",
    }
    assert egress["Network/SecurityGroupsApp"] == expected_egress(environment)["Network/SecurityGroupsApp"]


def test_container_image_is_staged_not_built(synth: Synthesized) -> None:
    # Synth needs no Docker: the asset is the service/ folder copied into the cloud assembly.
    manifests = [m for m in synth.outdir.rglob("*.assets.json") if "App" in m.name]
    assert manifests
    images = [(m.parent, img) for m in manifests for img in json.loads(m.read_text()).get("dockerImages", {}).values()]
    assert len(images) == 4  # per environment: the service and the private tracing-sidecar mirror
    for folder, image in images:
        assert image["source"]["platform"] == "linux/arm64"
        staged = folder / image["source"]["directory"]
        assert (staged / "Dockerfile").is_file()
        if image["displayName"].endswith("xray-collector/AssetImage"):
            assert sorted(p.name for p in staged.iterdir()) == ["Dockerfile"]
            continue
        assert (staged / "medivault_service" / "api.py").is_file()
        assert not (staged / "tracing_sidecar").exists(), "the sidecar mirror is not part of the service image's context"
        # The migrations ship in the same image (the migration task runs them from there).
        assert (staged / "medivault_service" / "migrations" / "0001_service_role_and_phi_schema.sql").is_file()
        assert not list(staged.rglob("__pycache__"))


def test_stateful_logical_ids_pinned(app_templates: dict[str, Template]) -> None:
    template = app_templates["production"]
    assert set(resources_of(template, "AWS::S3::Bucket")) == {"AlbAccessLogsCCEDA970"}
    assert set(resources_of(template, "AWS::Logs::LogGroup")) == {
        "ServiceLogs24DEC314",
        "OriginSecretRotationFunctionLogs53A783D5",
        "DatabaseMigrationTriggerFunctionLogs724CEF16",
    }
    assert template.to_json()["Resources"]["AlbAccessLogsCCEDA970"]["DeletionPolicy"] == "Retain"
