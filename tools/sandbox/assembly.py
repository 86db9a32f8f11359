"""What the sandbox tools need from a synthesized stage: its stacks (regions, dependencies, bootstrap
version) and the values its templates commit to. The templates are the truth about what a deploy
will create, so the preflight and the teardown read them instead of re-deriving the configuration."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Stack:
    artifact_id: str
    name: str  # CloudFormation stack name, e.g. Sandbox-Network
    account: str
    region: str
    template: dict[str, Any]
    requires_bootstrap_version: int | None
    bootstrap_parameter: str | None  # e.g. /cdk-bootstrap/hnb659fds/version
    depends_on: tuple[str, ...] = field(default=())  # artifact IDs of the stacks deployed before this one

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.template.get("Resources", {}).items() if r.get("Type") == kind}

    @property
    def text(self) -> str:
        return json.dumps(self.template)


def stage_stacks(outdir: Path, stage: str) -> list[Stack]:
    """The stacks of ``stage`` (e.g. ``Sandbox``) in the cloud assembly at ``outdir``."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if is_stage(artifact_id, artifact, stage):
            return _stacks(outdir / artifact["properties"]["directoryName"])
    raise SystemExit(f"no stage {stage!r} in {outdir}/manifest.json: synthesize it first (make synth-sandbox)")


def is_stage(artifact_id: str, artifact: dict[str, Any], stage: str) -> bool:
    """A nested stage assembly is ``assembly-<Stage>`` (``cdk synth`` writes no displayName for it)."""
    return artifact.get("type") == "cdk:cloud-assembly" and stage in (artifact.get("displayName"), artifact_id.removeprefix("assembly-"))


def _stacks(directory: Path) -> list[Stack]:
    manifest = json.loads((directory / "manifest.json").read_text())
    artifacts = manifest.get("artifacts", {})
    found = []
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        account, _, region = artifact["environment"].removeprefix("aws://").partition("/")
        deps = tuple(d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == "aws:cloudformation:stack")
        found.append(
            Stack(
                artifact_id=artifact_id,
                name=props.get("stackName", artifact_id),
                account=account,
                region=region,
                template=json.loads((directory / props["templateFile"]).read_text()),
                requires_bootstrap_version=props.get("requiresBootstrapStackVersion"),
                bootstrap_parameter=props.get("bootstrapStackVersionSsmParameter"),
                depends_on=deps,
            )
        )
    return found


def deletion_order(stacks: list[Stack]) -> list[Stack]:
    """Reverse dependency order: a stack is deleted only after every stack that depends on it."""
    by_id = {s.artifact_id: s for s in stacks}
    ordered: list[Stack] = []
    seen: set[str] = set()

    def visit(stack: Stack) -> None:  # depth-first: dependencies first = deploy order
        if stack.artifact_id in seen:
            return
        seen.add(stack.artifact_id)
        for dep in stack.depends_on:
            if dep in by_id:
                visit(by_id[dep])
        ordered.append(stack)

    for stack in stacks:
        visit(stack)
    return list(reversed(ordered))


LAYER_ARN = re.compile(r"arn:aws:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+")
PREFIX_LIST = re.compile(r"\bpl-[0-9a-f]{8,17}\b")
SERVICE_ROLE = re.compile(r"aws-service-role/([a-z0-9.-]+\.amazonaws\.com)/([A-Za-z0-9_+=,.@-]+)")
CERTIFICATE_ARN = re.compile(r"arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}")


def found_in(stacks: list[Stack], pattern: re.Pattern[str]) -> dict[str, set[str]]:
    """Matches of ``pattern`` in the templates, by region."""
    result: dict[str, set[str]] = {}
    for stack in stacks:
        for match in pattern.finditer(stack.text):
            result.setdefault(stack.region, set()).add(match.group(0))
    return result


def count(stacks: list[Stack], kind: str) -> dict[str, int]:
    result: dict[str, int] = {}
    for stack in stacks:
        if n := len(stack.resources(kind)):
            result[stack.region] = result.get(stack.region, 0) + n
    return result


def reserved_concurrency(stacks: list[Stack]) -> dict[str, int]:
    """ReservedConcurrentExecutions of every Lambda function, summed per region."""
    result: dict[str, int] = {}
    for stack in stacks:
        for function in stack.resources("AWS::Lambda::Function").values():
            reserved = function.get("Properties", {}).get("ReservedConcurrentExecutions")
            if isinstance(reserved, int):
                result[stack.region] = result.get(stack.region, 0) + reserved
    return result


def hosted_zones(stacks: list[Stack]) -> dict[str, set[str]]:
    """Hosted zone ID -> record names the stage writes into it."""
    zones: dict[str, set[str]] = {}
    for stack in stacks:
        for record in stack.resources("AWS::Route53::RecordSet").values():
            props = record.get("Properties", {})
            if isinstance(props.get("HostedZoneId"), str):
                zones.setdefault(props["HostedZoneId"], set()).add(str(props.get("Name", "")).rstrip("."))
    return zones
