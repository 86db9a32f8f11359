"""Read a synthesized cloud assembly (``cdk.out``), nested stage assemblies included."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StackArtifact:
    stage: str  # "" for a top-level stack
    name: str  # CloudFormation stack name, e.g. Sandbox-Network
    display_name: str  # e.g. Sandbox/Network
    account: str
    region: str
    template_path: Path
    metadata: dict[str, list[dict[str, Any]]]

    def template(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.template_path.read_text())
        return result

    def resources(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self.template().get("Resources", {})
        return result


def stacks(outdir: Path, stage: str = "") -> list[StackArtifact]:
    """Every CloudFormation stack in the assembly at ``outdir``, in manifest order."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found: list[StackArtifact] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        if kind == "cdk:cloud-assembly":
            nested = outdir / artifact["properties"]["directoryName"]
            found.extend(stacks(nested, stage=artifact.get("displayName", artifact_id)))
        elif kind == "aws:cloudformation:stack":
            props = artifact["properties"]
            _, _, account_region = artifact["environment"].partition("aws://")
            account, _, region = account_region.partition("/")
            metadata = artifact.get("metadata") or {}
            metadata_file = outdir / f"{artifact_id}.metadata.json"
            if not metadata and metadata_file.exists():
                metadata = json.loads(metadata_file.read_text())
            found.append(
                StackArtifact(
                    stage=stage,
                    name=props.get("stackName", artifact_id),
                    display_name=artifact.get("displayName", artifact_id),
                    account=account,
                    region=region,
                    template_path=outdir / props["templateFile"],
                    metadata=metadata,
                )
            )
    return found


@dataclass(frozen=True)
class Deployment:
    """One CloudFormation stack as it is deployed (account, region, stack name), however many times the
    assembly holds it: the environment stage's stack and the delivery pipeline's copy of it
    (``Pipeline/Sandbox/Keys`` deploys ``Sandbox-Keys`` into the same account and region as
    ``Sandbox/Keys``) are one deployment."""

    stack: StackArtifact  # the copy shown: the one with the shortest hierarchical id (what `cdk deploy` is given)
    copies: tuple[StackArtifact, ...]  # the other artifacts that deploy the same stack

    @property
    def name(self) -> str:
        return self.stack.name

    @property
    def display_name(self) -> str:
        return self.stack.display_name

    @property
    def delivered_by(self) -> tuple[str, ...]:
        """Where a copy of this stack comes from, e.g. ``("Pipeline",)``: the first part of each copy's
        hierarchical id that the shown stack's id does not have (the pipeline stack's construct id)."""
        return tuple(dict.fromkeys(c.display_name.split("/")[0] for c in (self.stack, *self.copies) if c.display_name.count("/") > 1))


def deployment_key(stack: StackArtifact) -> tuple[str, str, str]:
    return (stack.account, stack.region, stack.name)


def deployments(found: list[StackArtifact]) -> list[Deployment]:
    """The distinct deployments of ``found`` (from :func:`stacks`), in first-seen order."""
    groups: dict[tuple[str, str, str], list[StackArtifact]] = {}
    for stack in found:
        groups.setdefault(deployment_key(stack), []).append(stack)
    result = []
    for copies in groups.values():
        shown = min(copies, key=lambda s: s.display_name.count("/"))
        result.append(Deployment(stack=shown, copies=tuple(c for c in copies if c is not shown)))
    return result


def validation_report(outdir: Path) -> dict[str, Any]:
    path = outdir / "validation-report.json"
    if not path.exists():
        return {"pluginReports": []}
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def acknowledgments(stack: StackArtifact) -> list[tuple[str, str, str]]:
    """(logical ID, rule id, reason) for every acknowledgment written into the template."""
    found = []
    for logical_id, resource in stack.resources().items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.append((logical_id, rule["id"], rule["reason"]))
    return found


def referenced_id(value: Any) -> str:
    """The logical ID a template value points at (Ref / Fn::GetAtt), ``import:<name>`` for an
    Fn::ImportValue, or the literal itself (a CIDR, a prefix-list ID, a name)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Fn::ImportValue" in value:
            return "import:" + str(value["Fn::ImportValue"])
    return str(value)
