"""The deploy-time schema migration and the service's database access, in the synthesized stage.

What AWS needs at deploy time, and where each point is checked:
- The migration task can only log in once the cluster, its writer instance and the secret's target
  attachment (which writes host and port into the master secret) exist: the App stack deploys after
  the Data stack, and the task reads the attachment's ARN.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secrettargetattachment.html
- A Fargate task pulls its image, reads secrets and ships logs through its own ENI (platform 1.4):
  its group needs the endpoints and S3; the function needs the ECS API endpoint and S3 (the
  CloudFormation response URL).
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
- A security group created without an inline egress rule keeps EC2's default allow-all egress:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html
- RunTask needs ecs:RunTask on the task definition and iam:PassRole on its task and execution roles:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
- IAM database authentication: rds-db:connect on
  ``arn:aws:rds-db:<region>:<account>:dbuser:<DbClusterResourceId>/<db user>``:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
- A custom resource's ServiceTimeout (1-3600 s) bounds how long CloudFormation waits:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from constructs.database_migration import CONTAINER_NAME, MIGRATIONS_DIR, RESOURCE_TYPE, SERVICE_DB_USER, migrations_hash
from medivault_service import database as service_database  # service/ is on pytest's pythonpath
from medivault_service import migrate

from stacks import config as cfg
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R2", "R6", "R10", "R12")


CONCRETE = {"sandbox": "123456789012", "production": "210987654321"}


def _resources(template: Template, prefix: str, resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in resources_of(template, resource_type).items() if lid.startswith(prefix)}


def _one(template: Template, prefix: str, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = _resources(template, prefix, resource_type).items()
    return item


def _policy(template: Template, role_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    return policy  # type: ignore[no-any-return]


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _output_of(reference: Any) -> str:
    """The output name a weak cross-stack reference (Fn::GetStackOutput) reads."""
    return str(reference["Fn::GetStackOutput"]["OutputName"])


def _exported(template: Template, output_name: str) -> Any:
    return template.to_json()["Outputs"][output_name]["Value"]


def test_names_agree_between_infrastructure_service_and_sql() -> None:
    assert SERVICE_DB_USER == service_database.SERVICE_DB_USER
    first = (MIGRATIONS_DIR / "0001_service_role_and_phi_schema.sql").read_text()
    assert f"CREATE ROLE {SERVICE_DB_USER} LOGIN" in first and f"GRANT rds_iam TO {SERVICE_DB_USER}" in first
    # The custom resource's trigger is the hash the migration program checks in the image.
    assert migrations_hash() == migrate.set_hash(migrate.load())


def test_migrations_hash_changes_with_any_migration(tmp_path: Path) -> None:
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    before = migrations_hash(tmp_path)
    (tmp_path / "0003_next.sql").write_text("SELECT 1;\n")
    assert migrations_hash(tmp_path) != before
    with pytest.raises(ValueError, match="no migrations"):
        migrations_hash(tmp_path / "empty")


def test_migration_task_runs_the_service_image_as_the_master_user_only(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    data_stack = synth.stages[environment].data
    data = synth.template(environment, "data")
    _, task = _one(app, "DatabaseMigrationTask", "AWS::ECS::TaskDefinition")
    _, service_task = _one(app, "Task", "AWS::ECS::TaskDefinition")
    (container,) = task["Properties"]["ContainerDefinitions"]
    (service_container,) = [c for c in service_task["Properties"]["ContainerDefinitions"] if c["Name"] == "app"]
    assert container["Name"] == CONTAINER_NAME
    assert container["Image"] == service_container["Image"], "the same image as the service"
    assert container["Command"] == ["python", "-m", "medivault_service.migrate"]
    assert (container["ReadonlyRootFilesystem"], container["User"], container["Essential"]) == (True, "10001:10001", True)
    assert "Secrets" not in container, "the master secret is read at run time by the task role, not injected"
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert set(env) == {"DB_SECRET_ARN", "DB_CA_FILE", "DB_REGION", "DB_NAME", "LOG_LEVEL"}
    assert (env["DB_NAME"], env["DB_REGION"], env["DB_CA_FILE"]) == ("postgres", "eu-central-1", "/etc/ssl/certs/rds-global-bundle.pem")
    # The secret ARN is the target attachment's: the task cannot start before host and port are in the secret.
    attachment = _exported(data, _output_of(env["DB_SECRET_ARN"]))
    assert resources_of(data, "AWS::SecretsManager::SecretTargetAttachment")[attachment["Ref"]]
    assert data_stack.resolve(data_stack.database_secret.secret_arn) == attachment
    assert task["Properties"]["RequiresCompatibilities"] == ["FARGATE"] and task["Properties"]["NetworkMode"] == "awsvpc"
    assert task["Properties"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    # Its task role: the master secret (and its key, via Secrets Manager) and nothing else.
    role_id = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    statements = {s["Sid"]: s for s in _policy(app, role_id)}
    assert set(statements) == {"MasterSecret", "MasterSecretKey"}
    assert _actions(statements["MasterSecret"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert _exported(data, _output_of(statements["MasterSecret"]["Resource"])) == attachment
    assert _actions(statements["MasterSecretKey"]) == {"kms:Decrypt"}
    assert statements["MasterSecretKey"]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}}


def test_service_task_cannot_read_the_master_secret_and_connects_as_its_own_user(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    data = synth.template(environment, "data")
    attachment_outputs = {
        name for name, output in data.to_json()["Outputs"].items() if "Ref" in output["Value"] and "SecretAttachment" in output["Value"]["Ref"]
    }
    assert attachment_outputs
    _, service_task = _one(app, "Task", "AWS::ECS::TaskDefinition")
    task_role = service_task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    execution_role = service_task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    # Neither of the service's roles, nor its task definition, mentions the master secret.
    for role in (task_role, execution_role):
        assert not [o for o in attachment_outputs if o in json.dumps(_policy(app, role))], role
    assert not [o for o in attachment_outputs if o in json.dumps(service_task)]
    # rds-db:connect on exactly dbuser:<cluster resource id>/medivault_service of this account and region.
    (connect,) = [s for s in _policy(app, task_role) if s.get("Sid") == "DatabaseConnect"]
    assert connect["Action"] == "rds-db:connect"
    prefix, resource_id, user = connect["Resource"]["Fn::Join"][1]
    assert prefix == f"arn:aws:rds-db:eu-central-1:{CONCRETE[environment]}:dbuser:"
    assert user == f"/{SERVICE_DB_USER}"
    cluster_id = synth.stages[environment].data.resolve(synth.stages[environment].data.database.cluster_resource_identifier)
    assert _exported(data, _output_of(resource_id)) == cluster_id
    assert resources_of(data, "AWS::RDS::DBCluster")[cluster_id["Fn::GetAtt"][0]] and cluster_id["Fn::GetAtt"][1] == "DBClusterResourceId"


def test_custom_resource_order_and_trigger(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    resources = app.to_json()["Resources"]
    (resource_id, resource), *others = [(k, v) for k, v in resources.items() if v["Type"] == RESOURCE_TYPE]
    assert not others
    props = resource["Properties"]
    assert props["MigrationsHash"] == migrate.set_hash(migrate.load())
    assert props["ServiceTimeout"] == "1020"
    task_id, task = _one(app, "DatabaseMigrationTask", "AWS::ECS::TaskDefinition")
    assert props["TaskDefinitionArn"] == {"Ref": task_id}
    assert props["ContainerName"] == CONTAINER_NAME and props["LogStreamPrefix"] == "migrate"
    data_stack = synth.stages[environment].data
    assert _exported(synth.template(environment, "data"), _output_of(props["DatabaseResourceId"])) == data_stack.resolve(
        data_stack.database.cluster_resource_identifier
    )
    stage = synth.stages[environment]
    network = synth.template(environment, "network")
    migration_group = stage.network.resolve(stage.network.migration_security_group.security_group_id)
    assert [_exported(network, _output_of(g)) for g in props["SecurityGroups"]] == [migration_group]
    app_subnets = [stage.network.resolve(s.subnet_id) for s in stage.network.vpc.select_subnets(subnet_group_name="App").subnets]
    assert [_exported(network, _output_of(s)) for s in props["Subnets"]] == app_subnets
    # It waits for the task definition and the function (Ref / GetAtt), both task roles AND their policies, and the
    # function waits for its own policy.
    assert props["ServiceToken"] == {"Fn::GetAtt": [_one(app, "DatabaseMigrationTriggerFunction", "AWS::Lambda::Function")[0], "Arn"]}
    depends = set(resource["DependsOn"])
    task_role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    execution_role = task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    function_id, function = _one(app, "DatabaseMigrationTriggerFunction", "AWS::Lambda::Function")
    function_role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = {
        lid
        for lid, p in resources_of(app, "AWS::IAM::ManagedPolicy").items()
        if {r["Ref"] for r in p["Properties"]["Roles"]} & {task_role, execution_role, function_role}
    }
    assert len(policies) == 3
    (function_policy,) = [p for p in policies if resources_of(app, "AWS::IAM::ManagedPolicy")[p]["Properties"]["Roles"] == [{"Ref": function_role}]]
    assert {task_role, execution_role, *(policies - {function_policy})} <= depends
    assert function["DependsOn"] == [function_policy]
    assert function_id not in depends and task_id not in depends, "ordered by reference already (cfn-lint W3005)"
    # The service is updated only after the migrations succeeded.
    (service,) = resources_of(app, "AWS::ECS::Service").values()
    assert resource_id in service["DependsOn"]
    # And the whole App stack deploys after the Data stack (cluster, writer and reader, attachment) and the Network stack.
    app_stack = synth.stack(environment, "app")
    assert {synth.stack(environment, "data"), synth.stack(environment, "network")} <= set(app_stack.dependencies)
    data = synth.template(environment, "data")
    assert len(resources_of(data, "AWS::RDS::DBInstance")) == 2


def test_function_permissions_are_exactly_run_watch_and_pass(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    task_id, task = _one(app, "DatabaseMigrationTask", "AWS::ECS::TaskDefinition")
    _, function = _one(app, "DatabaseMigrationTriggerFunction", "AWS::Lambda::Function")
    assert function["Properties"]["Timeout"] == 900 and function["Properties"]["ReservedConcurrentExecutions"] == 1
    statements = {s["Sid"]: s for s in _policy(app, function["Properties"]["Role"]["Fn::GetAtt"][0]) if "Sid" in s}
    cluster = {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": [next(iter(resources_of(app, "AWS::ECS::Cluster"))), "Arn"]}}}
    assert statements["RunMigrationTask"]["Action"] == "ecs:RunTask"
    assert statements["RunMigrationTask"]["Resource"] == {"Ref": task_id}
    assert statements["RunMigrationTask"]["Condition"] == cluster
    assert _actions(statements["WatchMigrationTask"]) == {"ecs:DescribeTasks", "ecs:StopTask"}
    assert statements["WatchMigrationTask"]["Condition"] == cluster
    assert statements["PassMigrationRoles"]["Action"] == "iam:PassRole"
    passed = {r["Fn::GetAtt"][0] for r in statements["PassMigrationRoles"]["Resource"]}
    assert passed == {task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0], task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]}
    assert statements["PassMigrationRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def _egress(network: Template, group_id: str) -> set[tuple[str, int]]:
    """Every egress rule of one group that can match traffic: inline rules (less CDK's "disallow all"
    placeholder, ICMP 252/86 to 255.255.255.255/32, which keeps the inline list non-empty so EC2's
    default allow-all is gone) and AWS::EC2::SecurityGroupEgress resources."""
    rules: set[tuple[str, int]] = set()
    group = resources_of(network, "AWS::EC2::SecurityGroup")[group_id]["Properties"]
    for rule in group.get("SecurityGroupEgress", []):
        if rule.get("CidrIp") == "255.255.255.255/32" and rule.get("IpProtocol") == "icmp":
            continue
        rules.add((rule.get("DestinationPrefixListId") or rule.get("CidrIp") or json.dumps(rule.get("DestinationSecurityGroupId")), rule["FromPort"]))
    for rule in resources_of(network, "AWS::EC2::SecurityGroupEgress").values():
        p = rule["Properties"]
        if p["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}:
            rules.add((p.get("DestinationPrefixListId") or p["DestinationSecurityGroupId"]["Fn::GetAtt"][0], p["FromPort"]))
    return rules


def test_migration_groups_reach_exactly_the_database_endpoints_and_s3(synth: Synthesized, environment: str) -> None:
    stage = synth.stages[environment]
    network = synth.template(environment, "network")

    def gid(group: Any) -> str:
        return str(stage.network.resolve(group.security_group_id)["Fn::GetAtt"][0])

    database, endpoints = gid(stage.network.database_security_group), gid(stage.network.endpoint_security_group)
    s3 = cfg.load(environment, None).network.s3_prefix_list_id
    task, trigger = gid(stage.network.migration_security_group), gid(stage.network.migration_trigger_security_group)
    assert _egress(network, task) == {(database, 5432), (endpoints, 443), (s3, 443)}
    assert _egress(network, trigger) == {(endpoints, 443), (s3, 443)}
    for group in (task, trigger):
        properties = resources_of(network, "AWS::EC2::SecurityGroup")[group]["Properties"]
        # An inline egress rule exists, so EC2 adds no default allow-all rule; nothing reaches the internet.
        assert properties["SecurityGroupEgress"], group
        assert not [r for r in _egress(network, group) if r[0] in ("0.0.0.0/0", "::/0")]
        assert "SecurityGroupIngress" not in properties
        assert not [
            r for r in resources_of(network, "AWS::EC2::SecurityGroupIngress").values() if r["Properties"]["GroupId"]["Fn::GetAtt"][0] == group
        ]
    # The function reaches ECS through an interface endpoint in the VPC.
    services = [e["Properties"]["ServiceName"] for e in resources_of(network, "AWS::EC2::VPCEndpoint").values()]
    assert "com.amazonaws.eu-central-1.ecs" in services, services
