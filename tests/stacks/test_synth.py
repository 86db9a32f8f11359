"""The app synthesizes offline, behind the compliance gates, with concrete and env-agnostic accounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs.compliance import acknowledge

from stacks import config as cfg
from stacks.composition import compose, new_app
from tests.conftest import Synthesized

pytestmark = pytest.mark.requirements("R14", "R16")

ROOT = Path(__file__).resolve().parents[2]


def test_concrete_accounts_synthesize_cleanly(synth: Synthesized) -> None:
    # The fixture's app.synth() would have raised on any finding. The gates did run (CDK writes the
    # report only when validation plugins are registered) and report no violation at all.
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_acknowledgments_are_written_into_the_template_with_reasons(synth: Synthesized) -> None:
    routes = synth.template("production", "network").find_resources("AWS::EC2::Route")
    public = [r for lid, r in routes.items() if "PublicSubnet" in lid]
    assert len(public) == 3
    for route in public:
        suppressed = route["Metadata"]["cdk_nag"]["rules_to_suppress"]
        assert [s["id"] for s in suppressed] == ["HIPAA.Security-VPCNoUnrestrictedRouteToIGW"]
        assert "ALB" in suppressed[0]["reason"]


def test_env_agnostic_synthesizes_cleanly(agnostic: Synthesized) -> None:
    stack = agnostic.stages["production"].network
    assert cdk.Token.is_unresolved(stack.account)
    assert stack.region == "eu-central-1"


def test_every_stack_has_explicit_region_and_tags(synth: Synthesized) -> None:
    for name, stage in synth.stages.items():
        stacks = [c for c in stage.node.children if isinstance(c, cdk.Stack)]
        assert len(stacks) == 13, [s.stack_name for s in stacks]
        assert {s.region for s in stacks} == {"eu-central-1", "eu-west-1", "us-east-1"}
        for stack in stacks:
            # Tags reach the resources (the cost-allocation and ABAC view of them).
            resources = Template.from_stack(stack).to_json()["Resources"].values()
            tagged = [r["Properties"]["Tags"] for r in resources if isinstance(r.get("Properties", {}).get("Tags"), list)]
            assert tagged, stack.stack_name
            for tags in tagged:
                values = {t["Key"]: t["Value"] for t in tags}
                assert values.get("project") == "medivault-eu" and values.get("environment") == name, stack.stack_name


@pytest.fixture(scope="module")
def noncompliant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """One sandbox app with two non-compliant buckets, one of them acknowledged for AwsSolutions-S1
    only; its synth must fail. The violated rules by construct path (one synth for the two tests)."""
    outdir = tmp_path_factory.mktemp("noncompliant")
    app = new_app(outdir=str(outdir))
    network = compose(app, environments=[cfg.load("sandbox", "123456789012")]).stages["sandbox"].network
    s3.Bucket(network, "NonCompliantBucket")  # no encryption, logging, TLS policy, ...
    acknowledged = s3.Bucket(network, "AcknowledgedBucket")
    acknowledge(acknowledged, "AwsSolutions-S1", "Test-only bucket: proves an acknowledgment is narrow and specific.")
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    rules: dict[str, set[str]] = {}
    for plugin in report["pluginReports"]:
        for violation in plugin.get("violations", []):
            for construct in violation["violatingConstructs"]:
                rules.setdefault(construct["constructPath"], set()).add(violation["ruleName"])
    return rules


def test_gate_fails_synth_on_a_noncompliant_resource(noncompliant: dict[str, set[str]]) -> None:
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= noncompliant["Sandbox/Network/NonCompliantBucket/Resource"]
    # Nothing else of the stage is reported: the two buckets are the only findings.
    assert set(noncompliant) == {"Sandbox/Network/NonCompliantBucket/Resource", "Sandbox/Network/AcknowledgedBucket/Resource"}


def test_acknowledgment_silences_only_its_rule_on_its_resource(noncompliant: dict[str, set[str]]) -> None:
    rules = noncompliant["Sandbox/Network/AcknowledgedBucket/Resource"]
    assert "AwsSolutions-S1" not in rules
    assert "AwsSolutions-S10" in rules
    # The same rule still fires on the other bucket: the acknowledgment is on its resource only.
    assert "AwsSolutions-S1" in noncompliant["Sandbox/Network/NonCompliantBucket/Resource"]


def test_acknowledgment_needs_a_specific_reason() -> None:
    app = cdk.App()
    with pytest.raises(ValueError, match="specific"):
        acknowledge(cdk.Stack(app, "S"), "AwsSolutions-S1", "n/a")
    with pytest.raises(ValueError, match="rule id"):
        acknowledge(cdk.Stack(app, "T"), "S1", "a long enough reason that still names no real rule id")


def _run_app(context: dict[str, str], outdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_unknown_environment_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_app({"environments": "staging"}, tmp_path)
    assert result.returncode != 0
    assert "medivault: invalid configuration: environments: 'staging' is not allowed; allowed: sandbox, production" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_account_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_app({"environments": "sandbox", "sandbox_account": "12345"}, tmp_path)
    assert result.returncode != 0
    # The error names the setting the user passed (-c sandbox_account), not the config field.
    assert "medivault: invalid configuration: sandbox_account: '12345' is not an AWS account ID; allowed: 12 digits" in result.stderr
    assert "Traceback" not in result.stderr


def test_deploy_guard_rule_fails_at_deploy_only(tmp_path: Path) -> None:
    from constructs.deploy_guard import refuse_deploy

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Guarded")
    refuse_deploy(stack, "RequireDomain", message="Configure domain.domain_name before deploying this stack")
    rules = Template.from_stack(stack).to_json()["Rules"]
    assertion = rules["RequireDomain"]["Assertions"][0]
    assert assertion["Assert"] == {"Fn::Equals": ["review-placeholder", "configured"]}
    assert assertion["AssertDescription"].startswith("Configure domain.domain_name")


def test_environment_listed_twice_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_app({"environments": "sandbox,sandbox", "pipeline": "false", "organization": "false"}, tmp_path)
    assert result.returncode != 0
    assert "medivault: invalid configuration: environments: 'sandbox' is listed twice" in result.stderr
    assert "Traceback" not in result.stderr
