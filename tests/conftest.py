"""Shared fixtures: each configuration of the app is synthesized once per test session, gates included,
by the same composition as app.py (``stacks.composition.compose``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks import config as cfg
from stacks.composition import compose, new_app
from stacks.config import pipeline as pipeline_cfg
from stacks.config.organization import organization
from stacks.organization_stage import OrganizationStage
from stacks.pipeline_stack import PipelineStack
from stacks.stage import MediVaultStage
from tools.assembly import referenced_id

CONCRETE_ACCOUNTS = {"sandbox": "123456789012", "production": "210987654321"}
CONCRETE_ORGANIZATION_ACCOUNT = "345678901234"
# Tests that wait for a background cfn-lint run (Lint below): collected last, so the lint has the
# whole session to finish on the second core.
LINT_WAITERS = ("test_cfn_lint_clean", "test_cfn_lint_clean_on_the_pipeline_app")


def cfn_lint_command(templates: list[str]) -> list[str]:
    return [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "--", *templates]


@dataclass
class Lint:
    """cfn-lint over every template of an assembly, started in a second process as soon as the
    assembly is written, so that it runs while the other tests do. ``result()`` waits for it."""

    templates: list[str]
    process: subprocess.Popen[str]
    _result: subprocess.CompletedProcess[str] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, outdir: Path) -> Lint:
        templates = sorted(str(p) for p in outdir.rglob("*.template.json"))
        command = cfn_lint_command(templates)
        return cls(templates, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    def result(self, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        if self._result is None:
            out, err = self.process.communicate(timeout=timeout)
            self._result = subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)
        return self._result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


_lint_wanted: set[str] = set()  # the LINT_WAITERS this session runs: only their fixtures start a lint


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def waits(item: pytest.Item) -> bool:
        return getattr(item, "originalname", item.name) in LINT_WAITERS

    _lint_wanted.update(getattr(item, "originalname", item.name) for item in items if waits(item))
    items.sort(key=waits)  # stable: only the waiters move, to the end


def _start_lint(outdir: Path, waiter: str) -> Lint | None:
    return Lint.start(outdir) if waiter in _lint_wanted else None


@dataclass
class Synthesized:
    """One synthesized app: its stages (by environment name), its cloud assembly directory."""

    app: cdk.App
    stages: dict[str, MediVaultStage]
    outdir: Path
    _templates: dict[str, Template]
    organization: OrganizationStage | None = None
    lint: Lint | None = None  # cfn-lint over outdir, running in the background (the session fixtures start it)

    def template(self, environment: str, stack: str) -> Template:
        """``stack`` is the attribute name of the stack on the stage, e.g. ``network``."""
        key = f"{environment}/{stack}"
        if key not in self._templates:
            self._templates[key] = Template.from_stack(getattr(self.stages[environment], stack))
        return self._templates[key]

    def organization_template(self, stack: str) -> Template:
        """``stack`` is the attribute name on the organisation stage: ``guardrails``, ``identity_center``."""
        assert self.organization is not None, "this synth has no organisation stage"
        key = f"organization/{stack}"
        if key not in self._templates:
            self._templates[key] = Template.from_stack(getattr(self.organization, stack))
        return self._templates[key]

    def stack(self, environment: str, stack: str) -> cdk.Stack:
        result: cdk.Stack = getattr(self.stages[environment], stack)
        return result


def synthesize(outdir: Path, accounts: dict[str, str | None], organization_account: str | None) -> Synthesized:
    app = new_app(outdir=str(outdir))
    built = compose(
        app,
        environments=[cfg.load(name, account) for name, account in accounts.items()],
        organization=organization(organization_account, sandbox_account=accounts.get("sandbox"), production_account=accounts.get("production")),
    )
    app.synth()  # raises ValidationFailed on any unacknowledged compliance finding
    return Synthesized(app=app, stages=built.stages, outdir=outdir, _templates={}, organization=built.organization)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """Both environments with concrete 12-digit accounts: acknowledgments must still match."""
    synthesized = synthesize(tmp_path_factory.mktemp("cdk-concrete"), dict(CONCRETE_ACCOUNTS), CONCRETE_ORGANIZATION_ACCOUNT)
    synthesized.lint = _start_lint(synthesized.outdir, "test_cfn_lint_clean")
    yield synthesized
    if synthesized.lint is not None:
        synthesized.lint.stop()


@pytest.fixture(scope="session")
def agnostic(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Both environments env-agnostic (account left to deploy time)."""
    return synthesize(tmp_path_factory.mktemp("cdk-agnostic"), {name: None for name in cfg.ENVIRONMENT_NAMES}, None)


@dataclass
class PipelineSynthesized:
    """The delivery pipeline app alone (its stack, its replication stacks, its two stages)."""

    app: cdk.App
    pipeline: PipelineStack
    replication_stacks: list[cdk.Stack]
    outdir: Path
    _templates: dict[str, Template]
    lint: Lint | None = None  # cfn-lint over outdir, running in the background (the session fixture starts it)

    def template(self, stack: cdk.Stack | None = None) -> Template:
        """The pipeline stack's template, or that of another stack of this app."""
        target = stack or self.pipeline
        if target.node.path not in self._templates:
            self._templates[target.node.path] = Template.from_stack(target)
        return self._templates[target.node.path]


def synthesize_pipeline(outdir: Path, config: pipeline_cfg.PipelineConfig | None = None) -> PipelineSynthesized:
    """The pipeline app, as app.py builds it by default but without the organisation: the pipeline holds
    the two stages (Pipeline/Sandbox, Pipeline/Production), with concrete accounts."""
    app = new_app(outdir=str(outdir))
    built = compose(
        app,
        environments=[cfg.sandbox(CONCRETE_ACCOUNTS["sandbox"]), cfg.production(CONCRETE_ACCOUNTS["production"])],
        pipeline=config or pipeline_cfg.tooling(),
    )
    app.synth()  # raises ValidationFailed on any unacknowledged compliance finding
    assert built.pipeline is not None
    return PipelineSynthesized(app=app, pipeline=built.pipeline, replication_stacks=list(built.replication), outdir=outdir, _templates={})


@pytest.fixture(scope="session")
def pipeline_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineSynthesized]:
    """The review pipeline: placeholder tooling account and connection, concrete stage accounts."""
    synthesized = synthesize_pipeline(tmp_path_factory.mktemp("cdk-pipeline"))
    synthesized.lint = _start_lint(synthesized.outdir, "test_cfn_lint_clean_on_the_pipeline_app")
    yield synthesized
    if synthesized.lint is not None:
        synthesized.lint.stop()


@pytest.fixture(params=cfg.ENVIRONMENT_NAMES)
def environment(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def resources_of(template: Template, resource_type: str) -> dict[str, dict]:  # type: ignore[type-arg]
    found: dict[str, dict] = template.find_resources(resource_type)  # type: ignore[type-arg]
    return found


def ingress_rules(template: Template) -> set[tuple[str, str, int]]:
    """Every ingress rule of a template as (group logical ID, source, from-port): inline rules and
    AWS::EC2::SecurityGroupIngress resources alike. The source is a logical ID (another group),
    a CIDR, or a prefix-list ID."""
    rules: set[tuple[str, str, int]] = set()
    for lid, group in resources_of(template, "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            source = rule.get("SourceSecurityGroupId") or rule.get("SourcePrefixListId") or rule.get("CidrIp") or rule.get("CidrIpv6")
            rules.add((lid, referenced_id(source), int(rule.get("FromPort", -1))))
    for rule in resources_of(template, "AWS::EC2::SecurityGroupIngress").values():
        p = rule["Properties"]
        source = p.get("SourceSecurityGroupId") or p.get("SourcePrefixListId") or p.get("CidrIp") or p.get("CidrIpv6")
        rules.add((referenced_id(p["GroupId"]), referenced_id(source), int(p.get("FromPort", -1))))
    return rules
