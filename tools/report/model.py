"""The traceability model: which synthesized resources implement which requirement and pillar.

Sources, all in the cloud assembly:
- ``<stack>.metadata.json``: ``medivault:trace`` entries (written by ``constructs.traceability.trace``)
  keyed by construct path, and ``aws:cdk:logicalId`` entries mapping construct paths to logical IDs.
  A trace on an L2/L3 construct applies to every CloudFormation resource below its path.
- each template's ``Metadata.cdk_nag.rules_to_suppress``: acknowledged findings with their reasons.
- ``validation-report.json``: unacknowledged findings (violations) by construct path.

The record type and the requirement and pillar lists come from the leaf module ``catalog``: tools
never import ``constructs`` (tests/test_layout.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog import PILLARS, REQUIREMENTS, TRACE_METADATA_TYPE
from tools.assembly import Deployment, StackArtifact, deployments, stacks, validation_report

# The packs the gate runs (constructs/compliance.py); cdk-nag v3 reports only violations.
GATE_PACKS = ("AwsSolutions", "HIPAA.Security")


@dataclass(frozen=True)
class Trace:
    path: str  # construct path the trace was recorded on, e.g. /Production/Keys/DataKey/Key
    requirements: tuple[str, ...]
    pillars: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Resource:
    stage: str
    stack: str  # CloudFormation stack name, e.g. Production-Keys
    display_name: str  # the stack's hierarchical id, what `cdk deploy` takes, e.g. Production/Keys
    region: str
    logical_id: str
    type: str
    path: str
    traces: tuple[Trace, ...]
    acknowledged: tuple[tuple[str, str], ...]  # (rule id, reason)
    violations: tuple[str, ...]  # unacknowledged rule ids

    @property
    def where(self) -> str:
        """The construct path with its stage, e.g. ``Production/Data/ImagingBucket/Resource``."""
        return self.path.strip("/") or f"{self.display_name}/{self.logical_id}"

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(sorted({r for t in self.traces for r in t.requirements}, key=requirement_order))

    @property
    def pillars(self) -> tuple[str, ...]:
        return tuple(p for p in PILLARS if any(p in t.pillars for t in self.traces))


@dataclass(frozen=True)
class Assembly:
    outdir: Path
    stacks: tuple[StackArtifact, ...]  # one per deployment (tools.assembly.deployments)
    resources: tuple[Resource, ...]  # every CloudFormation resource of every deployment, once
    gate_violations: tuple[tuple[str, str, str], ...]  # (plugin, rule, construct path), severity error
    plugin_conclusions: tuple[tuple[str, str], ...]
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # stack name -> stack names it needs
    deployments: tuple[Deployment, ...] = ()
    artifacts: int = 0  # stacks in the assembly, copies included

    @property
    def gate_passed(self) -> bool:
        return not self.gate_violations

    def traced(self) -> list[Resource]:
        return [r for r in self.resources if r.traces]

    def stages(self) -> list[str]:
        return list(dict.fromkeys(stage_name(s.stage) for s in self.stacks))


def stage_name(assembly_stage: str) -> str:
    """``assembly-Production`` (nested assembly id) -> ``Production``; "" for top-level stacks. The review
    synth's environment stages sit in the pipeline: ``assembly-Pipeline-Production`` is ``Production`` too."""
    return assembly_stage.removeprefix("assembly-").removeprefix("Pipeline-")


def requirement_order(rid: str) -> int:
    return int(rid[1:]) if rid[1:].isdigit() else 999


def _stack_dependencies(outdir: Path) -> dict[str, tuple[str, ...]]:
    """Stack name -> names of the stacks it depends on (cloud-assembly manifest ``dependencies``)."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(directory: Path) -> None:
        artifacts: dict[str, Any] = json.loads((directory / "manifest.json").read_text()).get("artifacts", {})
        names = {aid: a["properties"].get("stackName", aid) for aid, a in artifacts.items() if a.get("type") == "aws:cloudformation:stack"}
        for aid, artifact in artifacts.items():
            if artifact.get("type") == "cdk:cloud-assembly":
                walk(directory / artifact["properties"]["directoryName"])
            elif aid in names:
                found[names[aid]] = tuple(sorted(names[d] for d in artifact.get("dependencies", []) if d in names))

    walk(outdir)
    return found


def _entries(stack: StackArtifact, kind: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for path, entries in stack.metadata.items():
        for entry in entries:
            if entry.get("type") == kind:
                out.setdefault(path, []).append(entry.get("data"))
    return out


def _traces_for(path: str, traces: dict[str, list[Trace]]) -> tuple[Trace, ...]:
    found: list[Trace] = []
    for trace_path, items in traces.items():
        if path == trace_path or path.startswith(trace_path + "/"):
            found.extend(items)
    return tuple(sorted(found, key=lambda t: t.path))


def _copy_paths(path: str, deployment: Deployment) -> list[str]:
    """``path`` in the shown stack and the same construct's path in each copy of the stack."""
    prefix = "/" + deployment.stack.display_name
    if not path.startswith(prefix + "/"):
        return [path]
    return [path] + ["/" + copy.display_name + path[len(prefix) :] for copy in deployment.copies]


def load(outdir: Path) -> Assembly:
    every = stacks(outdir)
    deployed = deployments(every)
    found = [d.stack for d in deployed]
    report = validation_report(outdir)
    violations: list[tuple[str, str, str]] = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            if violation.get("severity", "error") != "error":
                continue
            for construct in violation.get("violatingConstructs", []):
                violations.append((plugin["pluginName"], violation["ruleName"], construct["constructPath"]))
    by_path: dict[str, list[str]] = {}
    for _, rule, path in violations:
        by_path.setdefault("/" + path.lstrip("/"), []).append(rule)

    resources: list[Resource] = []
    for deployment in deployed:
        stack = deployment.stack
        template_resources = stack.resources()
        traces: dict[str, list[Trace]] = {}
        for path, datas in _entries(stack, TRACE_METADATA_TYPE).items():
            for data in datas:
                traces.setdefault(path, []).append(
                    Trace(path=path, requirements=tuple(data["requirements"]), pillars=tuple(data["pillars"]), why=str(data["why"]))
                )
        paths = {str(datas[0]): path for path, datas in _entries(stack, "aws:cdk:logicalId").items()}
        for logical_id, resource in template_resources.items():
            path = paths.get(logical_id, "")
            acknowledged = tuple((r["id"], r["reason"]) for r in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []))
            resources.append(
                Resource(
                    stage=stage_name(stack.stage),
                    stack=stack.name,
                    display_name=stack.display_name,
                    region=stack.region,
                    logical_id=logical_id,
                    type=str(resource.get("Type", "")),
                    path=path,
                    traces=_traces_for(path, traces) if path else (),
                    acknowledged=acknowledged,
                    violations=tuple(sorted({v for p in _copy_paths(path, deployment) for v in by_path.get(p, [])})) if path else (),
                )
            )
    conclusions = tuple((p["pluginName"], p.get("conclusion", "")) for p in report.get("pluginReports", []))
    return Assembly(
        outdir=outdir,
        stacks=tuple(found),
        resources=tuple(resources),
        gate_violations=tuple(violations),
        plugin_conclusions=conclusions,
        dependencies=_stack_dependencies(outdir),
        deployments=tuple(deployed),
        artifacts=len(every),
    )


def all_requirements() -> list[str]:
    return sorted(REQUIREMENTS, key=requirement_order)
