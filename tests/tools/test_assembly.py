"""The sandbox tools' readers against the real synthesized Sandbox stage (the session ``synth`` fixture):
what the preflight and the teardown infer from an assembly must match what CDK writes."""

from __future__ import annotations

from aws_cdk.assertions import Template

from stacks import config as cfg
from tests.conftest import Synthesized, resources_of
from tools import assembly as report_assembly
from tools.report import cost
from tools.sandbox import assembly


def _sandbox(synth: Synthesized) -> list[assembly.Stack]:
    return assembly.stage_stacks(synth.outdir, "Sandbox")


def test_every_stack_of_the_stage_is_read_with_its_region_and_dependencies(synth: Synthesized) -> None:
    stacks = _sandbox(synth)
    stage = synth.stages["sandbox"]
    expected = {s.stack_name: s.region for s in stage.node.children if hasattr(s, "stack_name")}
    assert {s.name: s.region for s in stacks} == expected
    assert {s.region for s in stacks} == {"eu-central-1", "eu-west-1", "us-east-1"}
    by_name = {s.name: s for s in stacks}
    for stack in stage.node.children:
        if hasattr(stack, "stack_name"):
            deps = {by_name[d.stack_name].artifact_id for d in stack.dependencies if d.stack_name in by_name}
            assert set(by_name[stack.stack_name].depends_on) == deps, stack.stack_name
    order = [s.artifact_id for s in assembly.deletion_order(stacks)]
    for stack in stacks:
        for dep in stack.depends_on:
            assert order.index(stack.artifact_id) < order.index(dep), (stack.name, dep)
    assert order[-1] == by_name["Sandbox-Keys"].artifact_id  # every other stack uses the keys


def test_reserved_concurrency_and_singletons_match_the_templates(synth: Synthesized) -> None:
    stacks = _sandbox(synth)
    reserved = 0
    for name in ("audit", "backup", "data", "observability", "app", "network"):
        for fn in resources_of(synth.template("sandbox", name), "AWS::Lambda::Function").values():
            reserved += int(fn["Properties"].get("ReservedConcurrentExecutions", 0))
    assert reserved > 0
    assert assembly.reserved_concurrency(stacks) == {"eu-central-1": reserved}
    assert assembly.count(stacks, "AWS::EC2::NatGateway") == {"eu-central-1": cfg.sandbox().network.nat_gateways}
    network = cfg.sandbox().network
    prefixes = {network.cloudfront_prefix_list_id, network.s3_prefix_list_id, network.dynamodb_prefix_list_id}
    assert assembly.found_in(stacks, assembly.PREFIX_LIST) == {"eu-central-1": prefixes}
    [layer] = assembly.found_in(stacks, assembly.LAYER_ARN)["eu-central-1"]
    assert layer.endswith(f":{cfg.sandbox().powertools_layer_version}")


def test_the_placeholder_review_stage_refuses_deploy_in_every_stack(synth: Synthesized) -> None:
    for stack in _sandbox(synth):
        assert "RefusePlaceholders" in stack.template.get("Rules", {}), stack.name


def test_deploy_outputs_the_smoke_check_reads(synth: Synthesized) -> None:
    outputs = {k for s in _sandbox(synth) for k in s.template.get("Outputs", {})}
    needed = {"SiteUrl", "AlbDnsName", "PhiBucketNames", "TrailName", "SecurityTopicArn", "AlarmTopicArn", "DashboardName", "BackupPlanId"}
    assert needed <= outputs
    edge = Template.from_stack(synth.stages["sandbox"].edge).to_json()["Outputs"]["SiteUrl"]["Value"]
    assert edge["Fn::Join"][1][0] == "https://"  # no domain in the review sandbox: the distribution's own name


def test_cost_per_day_idle_and_in_use_come_from_the_cost_model(synth: Synthesized) -> None:
    stacks = report_assembly.stacks(synth.outdir)
    figures = cost.per_day(stacks, "Sandbox")
    hours = cost.load_prices()["hours_per_month"]
    assert figures["in_use_month"] == cost.estimate(stacks, "Sandbox").total
    # An in-use day is in_use_hours_per_day of use, idle the rest (not a month's average).
    assert figures["in_use"] == round(cost.daily_cost(stacks).in_use, 2)
    assert 0 < figures["idle"] < figures["in_use"]
    idle = cost.estimate(stacks, "Sandbox", period=cost.Period(hours, 0))
    assert figures["idle_month"] == idle.total
    nat = {line.item: line for line in idle.lines if line.service == "VPC"}
    assert nat["NAT gateway hours"].monthly > 0 and nat["NAT data processed"].monthly == 0  # hours bill idle, traffic does not
