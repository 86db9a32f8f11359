"""Runtime permissions: each execution role can do what the service will ask of it once deployed.

Identity policies are evaluated with tests/stacks/iam_eval.py against the ARNs the templates produce;
a resource policy (key, queue) on the same path is evaluated too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.model import Assembly, Resource
from tests.stacks.iam_eval import evaluate, evaluate_resource_policy

# GuardDuty hosts its Fargate security agent in one ECR repository per region; with agent management
# on, GuardDuty injects it into every new task and the *task execution role* pulls it:
# https://docs.aws.amazon.com/guardduty/latest/ug/ecs-runtime-agent-ecr-image-uri.html and
# https://docs.aws.amazon.com/guardduty/latest/ug/prereq-runtime-monitoring-ecs-support.html#before-enable-runtime-monitoring-ecs
GUARDDUTY_AGENT_REPOSITORIES = {
    "eu-central-1": "arn:aws:ecr:eu-central-1:323658145986:repository/aws-guardduty-agent-fargate",
    "eu-west-1": "arn:aws:ecr:eu-west-1:694911143906:repository/aws-guardduty-agent-fargate",
    "us-east-1": "arn:aws:ecr:us-east-1:593207742271:repository/aws-guardduty-agent-fargate",
}
PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PRIVATE_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def identity_policies(assembly: Assembly, role: Resource) -> list[dict[str, Any]]:
    """The role's customer-managed and inline policies, rendered; AWS-managed policies are named in
    ``ManagedPolicyArns`` and (by project rule) not relied on for these paths."""
    docs = [assembly.render(role.stack, p["PolicyDocument"]) for p in role.properties.get("Policies", [])]
    for policy in assembly.of_type("AWS::IAM::ManagedPolicy") + assembly.of_type("AWS::IAM::Policy"):
        if role in assembly.resolve_refs(policy.stack, policy.properties.get("Roles", [])):
            docs.append(assembly.render(policy.stack, policy.properties["PolicyDocument"]))
    return docs


def allowed(docs: list[dict[str, Any]], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    verdicts = [evaluate(d, action, resource, context or {}) for d in docs]
    return "Deny" not in verdicts and "Allow" in verdicts


def _role(assembly: Assembly, resource: Resource, value: Any) -> Resource:
    roles = [r for r in assembly.resolve_refs(resource.stack, value) if r.type == "AWS::IAM::Role"]
    assert roles, f"{resource.key}: role {value} is not in the assembly"
    return roles[0]


def _agent_management_on(assembly: Assembly, task: Resource) -> bool:
    for detector in assembly.of_type("AWS::GuardDuty::Detector"):
        if (detector.stack.account, detector.stack.region) != (task.stack.account, task.stack.region):
            continue
        for feature in detector.properties.get("Features", []):
            if feature["Name"] == "RUNTIME_MONITORING" and feature["Status"] == "ENABLED":
                extra = {c["Name"]: c["Status"] for c in feature.get("AdditionalConfiguration", [])}
                if extra.get("ECS_FARGATE_AGENT_MANAGEMENT") == "ENABLED":
                    return True
    return False


def test_task_execution_roles_pull_every_image(assembly: Assembly) -> None:
    """The execution role pulls each private-ECR image of the task (ecr:GetAuthorizationToken on *,
    BatchGetImage/GetDownloadUrlForLayer on the repository): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html.
    ECR Public images are pulled anonymously (no IAM): https://docs.aws.amazon.com/AmazonECR/latest/public/public-registries.html;
    any other registry needs repositoryCredentials. With GuardDuty agent management on in the account
    and region, the GuardDuty agent's repository too (pages at GUARDDUTY_AGENT_REPOSITORIES)."""
    tasks = assembly.of_type("AWS::ECS::TaskDefinition")
    assert tasks
    problems = []
    for task in tasks:
        role = _role(assembly, task, task.properties["ExecutionRoleArn"])
        docs = identity_policies(assembly, role)
        repositories = []
        for container in task.properties["ContainerDefinitions"]:
            image = str(assembly.render(task.stack, container["Image"]))
            match = PRIVATE_ECR.match(image)
            if match:
                account, region, name = match.groups()
                repositories.append((container["Name"], f"arn:aws:ecr:{region}:{account}:repository/{name}"))
            elif image.startswith("public.ecr.aws/"):
                continue
            elif "RepositoryCredentials" not in container:
                problems.append(f"{task.key}/{container['Name']}: {image} is neither ECR nor ECR Public and has no repositoryCredentials")
        if _agent_management_on(assembly, task):
            repositories.append(("GuardDuty agent (injected)", GUARDDUTY_AGENT_REPOSITORIES[task.stack.region]))
        if repositories and not allowed(docs, "ecr:GetAuthorizationToken", "*"):
            problems.append(f"{task.key}: execution role lacks ecr:GetAuthorizationToken")
        for container, repository in repositories:
            for action in PULL:
                if not allowed(docs, action, repository):
                    problems.append(f"{task.key}/{container}: execution role lacks {action} on {repository}")
    assert not problems, "\n".join(problems)


def test_task_execution_roles_read_every_secret(assembly: Assembly) -> None:
    """Secrets in a container definition are fetched by the execution role: secretsmanager:GetSecretValue
    on the secret, and kms:Decrypt on its customer-managed key (through Secrets Manager), which the key
    policy must allow as well: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    problems, checked = [], 0
    for task in assembly.of_type("AWS::ECS::TaskDefinition"):
        role = _role(assembly, task, task.properties["ExecutionRoleArn"])
        docs = identity_policies(assembly, role)
        for container in task.properties["ContainerDefinitions"]:
            for secret_ref in container.get("Secrets", []):
                checked += 1
                arn = str(assembly.render(task.stack, secret_ref["ValueFrom"])).split(":::")[0]
                if not allowed(docs, "secretsmanager:GetSecretValue", arn):
                    problems.append(f"{task.key}: cannot read {secret_ref['Name']} ({arn})")
                secrets = [r for r in assembly.resolve_refs(task.stack, secret_ref["ValueFrom"]) if r.type == "AWS::SecretsManager::Secret"]
                for secret in secrets:
                    keys = [k for k in assembly.resolve_refs(secret.stack, secret.properties.get("KmsKeyId")) if k.type == "AWS::KMS::Key"]
                    for key in keys:
                        ctx = {"kms:ViaService": f"secretsmanager.{task.stack.region}.amazonaws.com", "kms:CallerAccount": task.stack.account}
                        if not allowed(docs, "kms:Decrypt", assembly.arn_of(key), ctx):
                            problems.append(f"{task.key}: role may not decrypt {secret_ref['Name']} with {key.key}")
                        policy = assembly.render(key.stack, key.properties["KeyPolicy"])
                        if evaluate_resource_policy(policy, {"AWS": assembly.arn_of(role)}, "kms:Decrypt", "*", ctx) != "Allow":
                            problems.append(f"{task.key}: key policy of {key.key} refuses the execution role via Secrets Manager")
    assert checked and not problems, "\n".join(problems)


def _stream(assembly: Assembly, group: Resource, prefix: str) -> str:
    return assembly.arn_of(group) + f":log-stream:{prefix}/example"


def test_task_execution_roles_write_their_log_groups(assembly: Assembly) -> None:
    """awslogs: the execution role creates streams and puts events in the group:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html (the group's KMS key
    is used by CloudWatch Logs itself, see test_keys.py "logs")."""
    problems = []
    for task in assembly.of_type("AWS::ECS::TaskDefinition"):
        docs = identity_policies(assembly, _role(assembly, task, task.properties["ExecutionRoleArn"]))
        for container in task.properties["ContainerDefinitions"]:
            options = container.get("LogConfiguration", {}).get("Options", {})
            for group in [g for g in assembly.resolve_refs(task.stack, options.get("awslogs-group")) if g.type == "AWS::Logs::LogGroup"]:
                stream = _stream(assembly, group, options.get("awslogs-stream-prefix", "x"))
                for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                    if not allowed(docs, action, stream):
                        problems.append(f"{task.key}/{container['Name']}: {action} on {stream}")
    assert not problems, "\n".join(problems)


def test_lambda_roles_write_logs_and_reach_their_dead_letter_queues(assembly: Assembly) -> None:
    """A function's role writes its log group (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html#monitoring-cloudwatchlogs-prereqs)
    and sends to its DLQ: sqs:SendMessage, plus kms:GenerateDataKey/kms:Decrypt on an encrypted queue's key
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq)."""
    problems, functions = [], assembly.of_type("AWS::Lambda::Function")
    for function in functions:
        role = _role(assembly, function, function.properties["Role"])
        docs = identity_policies(assembly, role)
        group_ref = function.properties.get("LoggingConfig", {}).get("LogGroup")
        groups = [g for g in assembly.resolve_refs(function.stack, group_ref) if g.type == "AWS::Logs::LogGroup"]
        if not groups and not any(
            "AWSLambdaBasicExecutionRole" in str(a) or "AWSLambdaVPCAccessExecutionRole" in str(a)
            for a in role.properties.get("ManagedPolicyArns", [])
        ):
            problems.append(f"{function.key}: no log group of its own and no basic-execution policy")
        for group in groups:
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                if not allowed(docs, action, _stream(assembly, group, "2026/12/04/[$LATEST]x")):
                    problems.append(f"{function.key}: {action} on {assembly.arn_of(group)}")
        target = function.properties.get("DeadLetterConfig", {}).get("TargetArn")
        for queue in [q for q in assembly.resolve_refs(function.stack, target) if q.type == "AWS::SQS::Queue"]:
            if not allowed(docs, "sqs:SendMessage", assembly.arn_of(queue)):
                problems.append(f"{function.key}: sqs:SendMessage on its DLQ {queue.key}")
            for key in [k for k in assembly.resolve_refs(queue.stack, queue.properties.get("KmsMasterKeyId")) if k.type == "AWS::KMS::Key"]:
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    if not allowed(docs, action, assembly.arn_of(key)):
                        problems.append(f"{function.key}: {action} on its DLQ key {key.key}")
    assert functions and not problems, "\n".join(problems)


# Restore metadata AWS Backup would otherwise infer, per resource type: it infers defaults such as the
# default VPC, which a hardened account may not have and which is outside the data tier anyway:
# https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html
EXPLICIT_RESTORE_METADATA = {"Aurora": ("dbsubnetgroupname", "vpcsecuritygroupids")}


@pytest.mark.parametrize("resource_type", sorted(EXPLICIT_RESTORE_METADATA))
def test_restore_tests_do_not_rely_on_inferred_network_placement(assembly: Assembly, resource_type: str) -> None:
    """Each restore-testing selection names the subnet group and security groups of the resource it
    protects, so a test restore lands in the isolated data tier and not in a default VPC that may be
    absent (restore fails) or public. Page: EXPLICIT_RESTORE_METADATA."""
    selections = [s for s in assembly.of_type("AWS::Backup::RestoreTestingSelection") if s.properties["ProtectedResourceType"] == resource_type]
    assert selections
    for selection in selections:
        overrides = {k.lower(): v for k, v in selection.properties.get("RestoreMetadataOverrides", {}).items()}
        missing = [k for k in EXPLICIT_RESTORE_METADATA[resource_type] if k not in overrides]
        assert not missing, f"{selection.key}: restore metadata left to inference: {missing}"
        clusters = [
            c for c in assembly.resolve_refs(selection.stack, selection.properties["ProtectedResourceArns"]) if c.type == "AWS::RDS::DBCluster"
        ]
        for cluster in clusters:
            assert assembly.resolve_refs(selection.stack, overrides["dbsubnetgroupname"]) == assembly.resolve_refs(
                cluster.stack, cluster.properties["DBSubnetGroupName"]
            ), f"{selection.key}: not the protected cluster's subnet group"
            groups = assembly.resolve_refs(selection.stack, overrides["vpcsecuritygroupids"])
            assert groups and groups == assembly.resolve_refs(cluster.stack, cluster.properties["VpcSecurityGroupIds"]), (
                f"{selection.key}: not the protected cluster's security groups"
            )


def _statements(assembly: Assembly, role: Resource) -> list[dict[str, Any]]:
    return [s for d in identity_policies(assembly, role) for s in d["Statement"]]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_lambda_roles_use_resource_star_only_with_a_true_named_reason(assembly: Assembly) -> None:
    """Issue 15 item 10. Lambda's VPC ENI actions support resource-level permissions (only the EC2
    Describe calls do not): https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
    and https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html. So on every
    function role: ec2:CreateNetworkInterface is limited to the function's own subnets, every action on
    Resource '*' is one without resource types, and the role's IAM5[Resource::*] acknowledgment names
    each of those actions (a reason that omits one is false)."""
    from constructs.medivault_function import UNSCOPED_REASONS

    functions = [f for f in assembly.of_type("AWS::Lambda::Function") if "VpcConfig" in f.properties]
    assert functions
    problems = []
    for function in functions:
        role = _role(assembly, function, function.properties["Role"])
        statements = _statements(assembly, role)
        star = [a for s in statements if "*" in _listed(s.get("Resource", [])) for a in _listed(s["Action"])]
        problems += [f"{function.key}: {a} on '*' (not an action without resource types)" for a in star if a not in UNSCOPED_REASONS]
        subnets = {str(assembly.render(function.stack, s)) for s in function.properties["VpcConfig"]["SubnetIds"]}
        for statement in statements:
            if "ec2:CreateNetworkInterface" in _listed(statement["Action"]):
                scoped = {r.rsplit("/", 1)[-1] for r in _listed(statement["Resource"]) if ":subnet/" in r}
                if "*" in _listed(statement["Resource"]) or scoped != subnets:
                    problems.append(f"{function.key}: CreateNetworkInterface not limited to its subnets {sorted(subnets)}")
        # Each policy that uses "*" must carry an acknowledgment naming each such action (a role's
        # acknowledgment is copied to its own GrantsPolicy; a separate policy carries its own).
        for policy in assembly.of_type("AWS::IAM::ManagedPolicy") + assembly.of_type("AWS::IAM::Policy"):
            if role not in assembly.resolve_refs(policy.stack, policy.properties.get("Roles", [])):
                continue
            document = assembly.render(policy.stack, policy.properties["PolicyDocument"])
            on_star = {a for s in document["Statement"] if "*" in _listed(s.get("Resource", [])) for a in _listed(s["Action"])}
            reasons = [
                r["reason"]
                for r in policy.raw.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
                if r["id"] == "AwsSolutions-IAM5[Resource::*]"
            ]
            if on_star and not reasons:
                problems.append(f"{policy.key}: '*' used without an acknowledgment")
            for reason in reasons:
                problems += [f"{policy.key}: the acknowledgment does not name {a}: {reason!r}" for a in sorted(on_star) if a not in reason]
    assert not problems, "\n".join(problems)
