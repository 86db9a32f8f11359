"""The synthesized cloud assembly as the deploy rehearsal reads it: stacks with their manifest
dependencies, resources with what each one needs to exist first, and ARNs resolved far enough to
evaluate policies against them.

Pure Python over the JSON that ``cdk synth`` wrote; nothing here calls AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PSEUDO = {
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
}


@dataclass
class Resource:
    stack: Stack
    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.stack.name}/{self.logical_id}"

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resource) and other.key == self.key


@dataclass
class Stack:
    artifact_id: str
    name: str  # CloudFormation stack name, e.g. Sandbox-Audit
    stage: str  # e.g. Sandbox
    account: str
    region: str
    template: dict[str, Any]
    dependency_ids: tuple[str, ...]  # manifest artifact ids (stacks only)
    resources: dict[str, Resource] = field(default_factory=dict)

    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == resource_type]


def _refs(value: Any) -> Iterator[tuple[str, str | None, str]]:
    """Every reference inside ``value``: (kind, stack name or None, logical ID) where kind is
    ``local`` (Ref, GetAtt, Sub), ``output`` (Fn::GetStackOutput: the output name) or ``export``."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref" and isinstance(arg, str):
                if arg not in PSEUDO:
                    yield ("local", None, arg)
                return
            if fn == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                yield ("local", None, target)
                return
            if fn == "Fn::GetStackOutput":
                yield ("output", arg["StackName"], arg["OutputName"])
                return
            if fn == "Fn::ImportValue" and isinstance(arg, str):
                yield ("export", None, arg)
                return
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                import re

                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    base = name.split(".")[0]
                    if base not in PSEUDO and base not in variables:
                        yield ("local", None, base)
                yield from _refs(variables)
                return
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


@dataclass
class Assembly:
    stacks: list[Stack]

    def __post_init__(self) -> None:
        self.by_name = {s.name: s for s in self.stacks}
        self.by_id = {s.artifact_id: s for s in self.stacks}
        self.exports: dict[str, tuple[Stack, Any]] = {}
        for s in self.stacks:
            for output in s.template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (s, output["Value"])
        self._direct: dict[Resource, set[Resource]] = {}

    # ---- resources -------------------------------------------------------------------------
    def resources(self) -> Iterator[Resource]:
        for s in self.stacks:
            yield from s.resources.values()

    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources() if r.type == resource_type]

    def resolve_refs(self, stack: Stack, value: Any) -> set[Resource]:
        """The resources a property value points at, across stacks (weak and strong references)."""
        found: set[Resource] = set()
        for kind, other_stack, name in _refs(value):
            if kind == "local":
                if name in stack.resources:
                    found.add(stack.resources[name])
            elif kind == "output":
                producer = self.by_name.get(other_stack or "")
                if producer is not None:
                    output = producer.template.get("Outputs", {}).get(name)
                    if output is not None:
                        found |= self.resolve_refs(producer, output["Value"])
            elif kind == "export" and name in self.exports:
                producer, exported = self.exports[name]
                found |= self.resolve_refs(producer, exported)
        return found

    def direct(self, resource: Resource) -> set[Resource]:
        """What CloudFormation creates before ``resource``: DependsOn plus every Ref/GetAtt/Sub in
        its properties (within the stack), and the producing resources of cross-stack values."""
        if resource not in self._direct:
            found = {resource.stack.resources[d] for d in resource.depends_on if d in resource.stack.resources}
            found |= self.resolve_refs(resource.stack, resource.properties)
            found.discard(resource)
            self._direct[resource] = found
        return self._direct[resource]

    def stack_depends_on(self, stack: Stack, other: Stack) -> bool:
        """Whether the manifest makes ``stack`` deploy after ``other`` (transitively)."""
        seen: set[str] = set()
        todo = list(stack.dependency_ids)
        while todo:
            current = todo.pop()
            if current == other.artifact_id:
                return True
            if current in seen or current not in self.by_id:
                continue
            seen.add(current)
            todo.extend(self.by_id[current].dependency_ids)
        return False

    def created_after(self, resource: Resource, prerequisite: Resource) -> bool:
        """Whether CloudFormation cannot start creating ``resource`` before ``prerequisite`` exists:
        a chain of DependsOn/Ref/GetAtt within the stack, or a stack dependency across stacks."""
        if resource.stack is not prerequisite.stack:
            return self.stack_depends_on(resource.stack, prerequisite.stack)
        seen: set[Resource] = set()
        todo = [resource]
        while todo:
            current = todo.pop()
            for nxt in self.direct(current):
                if nxt.stack is not resource.stack:
                    continue
                if nxt == prerequisite:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    # ---- values ----------------------------------------------------------------------------
    def arn_of(self, resource: Resource) -> str:
        """The ARN CloudFormation will give ``resource``, with the physical name where the template
        sets one and the logical ID standing in for a generated name."""
        p, s = resource.properties, resource.stack
        head = f"arn:aws:{{}}:{s.region}:{s.account}:"
        name = lambda key: p.get(key) if isinstance(p.get(key), str) else resource.logical_id  # noqa: E731
        arns = {
            "AWS::SNS::Topic": lambda: head.format("sns") + name("TopicName"),
            "AWS::SQS::Queue": lambda: head.format("sqs") + name("QueueName"),
            "AWS::Logs::LogGroup": lambda: head.format("logs") + "log-group:" + name("LogGroupName"),
            "AWS::Events::Rule": lambda: head.format("events") + "rule/" + name("Name"),
            "AWS::CloudWatch::Alarm": lambda: head.format("cloudwatch") + "alarm:" + name("AlarmName"),
            "AWS::CloudWatch::CompositeAlarm": lambda: head.format("cloudwatch") + "alarm:" + name("AlarmName"),
            "AWS::CloudTrail::Trail": lambda: head.format("cloudtrail") + "trail/" + name("TrailName"),
            "AWS::S3::Bucket": lambda: "arn:aws:s3:::" + name("BucketName"),
            "AWS::KMS::Key": lambda: head.format("kms") + "key/" + resource.logical_id,
            "AWS::Lambda::Function": lambda: head.format("lambda") + "function:" + name("FunctionName"),
            "AWS::SecretsManager::Secret": lambda: head.format("secretsmanager") + "secret:" + name("Name") + "-AbCdEf",
            "AWS::DynamoDB::Table": lambda: head.format("dynamodb") + "table/" + name("TableName"),
            "AWS::Backup::BackupVault": lambda: head.format("backup") + "backup-vault:" + name("BackupVaultName"),
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{s.account}:role/" + name("RoleName"),
            "AWS::ECR::Repository": lambda: head.format("ecr") + "repository/" + name("RepositoryName"),
        }
        if resource.type not in arns:
            raise KeyError(f"no ARN shape known for {resource.type} ({resource.key})")
        return arns[resource.type]()

    def render(self, stack: Stack, value: Any) -> Any:
        """A property value with references replaced by ARNs/names the way AWS would see them
        (Ref of a topic or queue is its ARN/URL; GetAtt X.Arn its ARN). Unknown parts become ``*``-free
        placeholders so that a wildcard in a policy never matches by accident."""
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self.render(stack, v) for v in value]
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                pseudo = {"AWS::AccountId": stack.account, "AWS::Region": stack.region, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
                if arg in pseudo:
                    return pseudo[arg]
                target = stack.resources.get(arg)
                if target is None:
                    return f"<unresolved {arg}>"
                if target.type == "AWS::SecretsManager::Secret":
                    return self.arn_of(target)
                if target.type == "AWS::SecretsManager::SecretTargetAttachment":  # Ref is the attached secret's ARN
                    return str(self.render(stack, target.properties["SecretId"]))
                if target.type in ("AWS::SNS::Topic", "AWS::KMS::Key", "AWS::IAM::ManagedPolicy"):
                    return self.arn_of(target) if target.type != "AWS::IAM::ManagedPolicy" else target.logical_id
                if target.type in (
                    "AWS::S3::Bucket",
                    "AWS::Logs::LogGroup",
                    "AWS::CloudTrail::Trail",
                    "AWS::Events::Rule",
                    "AWS::Backup::BackupVault",
                ):
                    arn = self.arn_of(target)
                    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if target.type != "AWS::Logs::LogGroup" else arn.split("log-group:")[1]
                return f"<{target.type} {arg}>"
            if fn == "Fn::GetAtt":
                target_id, attr = (arg[0], arg[1]) if isinstance(arg, list) else str(arg).split(".", 1)
                target = stack.resources.get(target_id)
                if target is not None and attr == "Arn":
                    try:
                        arn = self.arn_of(target)
                    except KeyError:
                        return f"<{target_id}.{attr}>"
                    return arn + (":*" if target.type == "AWS::Logs::LogGroup" else "")
                return f"<{target_id}.{attr}>"
            if fn == "Fn::Sub" and isinstance(arg, str):
                import re

                def sub(match: re.Match[str]) -> str:
                    return str(self.render(stack, {"Ref": match.group(1)}))

                return re.sub(r"\$\{([^}.]+)\}", sub, arg)
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.render(stack, p)) for p in parts)
            if fn == "Fn::GetStackOutput":
                producer = self.by_name.get(arg["StackName"])
                if producer is not None and arg["OutputName"] in producer.template.get("Outputs", {}):
                    return self.render(producer, producer.template["Outputs"][arg["OutputName"]]["Value"])
                return "<unresolved output>"
            if fn == "Fn::ImportValue" and isinstance(arg, str) and arg in self.exports:
                producer, exported = self.exports[arg]
                return self.render(producer, exported)
        if isinstance(value, dict):
            return {k: self.render(stack, v) for k, v in value.items()}
        return value


def load(outdir: Path) -> Assembly:
    """Every CloudFormation stack of the assembly at ``outdir``, nested stage assemblies included."""
    stacks: list[Stack] = []

    def walk(directory: Path, stage: str) -> None:
        manifest = json.loads((directory / "manifest.json").read_text())
        artifacts = manifest.get("artifacts", {})
        for artifact_id, artifact in artifacts.items():
            kind = artifact.get("type")
            if kind == "cdk:cloud-assembly":
                walk(directory / artifact["properties"]["directoryName"], artifact_id.removeprefix("assembly-"))
            elif kind == "aws:cloudformation:stack":
                props = artifact["properties"]
                account, _, region = artifact["environment"].removeprefix("aws://").partition("/")
                deps = tuple(d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == "aws:cloudformation:stack")
                template = json.loads((directory / props["templateFile"]).read_text())
                stack = Stack(artifact_id, props.get("stackName", artifact_id), stage, account, region, template, deps)
                for lid, raw in template.get("Resources", {}).items():
                    depends = raw.get("DependsOn", [])
                    stack.resources[lid] = Resource(
                        stack, lid, raw["Type"], raw.get("Properties", {}), tuple([depends] if isinstance(depends, str) else depends), raw
                    )
                stacks.append(stack)

    walk(outdir, "")
    return Assembly(stacks)
