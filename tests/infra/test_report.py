"""The teaching and audit report (tools/report): on the real synthesized app and on a tiny app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs.compliance import acknowledge, write_acknowledgments_to_templates
from constructs.traceability import METADATA_TYPE, REQUIREMENTS, trace

from stacks import config as cfg
from tests.conftest import PipelineSynthesized, Synthesized
from tools.assembly import stacks as assembly_stacks
from tools.report import cost, render
from tools.report.__main__ import main as report_main
from tools.report.build import Report, build
from tools.report.tests_index import requirement_tests

# The report is part of the evidence every synth produces before anything is deployed.
pytestmark = pytest.mark.requirements("R16")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(synth: Synthesized) -> Report:
    return build(synth.outdir)


def _traced_requirements(app: cdk.App) -> set[str]:
    """Independent of the report: every R-id recorded on any construct of the app."""
    found: set[str] = set()
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == METADATA_TYPE:
                found.update(entry.data["requirements"])
    return found


# --- the real app ---------------------------------------------------------------------------------


def test_every_requirement_is_listed_and_gaps_are_exactly_the_untraced_ones(synth: Synthesized, report: Report) -> None:
    assert [row.id for row in report.requirements] == [f"R{i}" for i in range(1, 17)]
    traced = _traced_requirements(synth.app)
    assert traced, "the foundation traces at least R1/R2"
    assert set(report.gaps) == set(REQUIREMENTS) - traced
    markdown = render.markdown(report)
    for row in report.requirements:
        assert f"| [{row.id}](#{row.id.lower()}) |" in markdown
        if row.gap:
            assert row.resources == ()
            assert f"| [{row.id}](#{row.id.lower()}) | {row.need} | **GAP: no resource implements it yet** |" in markdown


def test_traced_resources_carry_stack_logical_id_and_type(synth: Synthesized, report: Report) -> None:
    data_key_ids = {lid for lid in synth.template("production", "keys").find_resources("AWS::KMS::Key") if lid.startswith("DataKey")}
    assert len(data_key_ids) == 1
    r6 = next(row for row in report.requirements if row.id == "R6")
    keys = {(r.stack, r.logical_id, r.type) for r in r6.resources if r.type == "AWS::KMS::Key"}
    assert ("Production-Keys", data_key_ids.pop(), "AWS::KMS::Key") in keys
    # A trace on an L2 reaches the CfnResources below it: the VPC trace covers the subnets.
    r1 = next(row for row in report.requirements if row.id == "R1")
    assert sum(1 for r in r1.resources if r.stack == "Production-Network" and r.type == "AWS::EC2::Subnet") == 9


def test_acknowledgments_with_reasons_are_carried_into_the_report(synth: Synthesized, report: Report) -> None:
    routes = synth.template("production", "network").find_resources("AWS::EC2::Route")
    expected = {
        (lid, s["id"], s["reason"])
        for lid, route in routes.items()
        for s in route.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert len(expected) == 3
    r2 = next(row for row in report.requirements if row.id == "R2")
    carried = {(r.logical_id, rule, reason) for r, rule, reason in r2.acknowledged if r.stack == "Production-Network"}
    assert expected <= carried
    page = render.html_page(report)
    reason = next(iter(expected))[2]
    assert reason.replace("'", "&#x27;") in page or reason in page
    assert "HIPAA.Security-VPCNoUnrestrictedRouteToIGW" in render.markdown(report)


def test_gate_result_is_read_from_the_validation_report(report: Report) -> None:
    assert report.assembly.gate_passed
    assert all(row.gate == ("n/a" if row.gap else "PASSED") for row in report.requirements)


def test_tests_are_mapped_from_the_requirements_markers(report: Report) -> None:
    r1 = next(row for row in report.requirements if row.id == "R1")
    assert "tests/infra/test_network.py" in [t.path for t in r1.tests]
    r16 = next(row for row in report.requirements if row.id == "R16")
    assert "tests/infra/test_report.py" in [t.path for t in r16.tests]


@pytest.mark.parametrize("environment_name", cfg.ENVIRONMENT_NAMES)
def test_cost_lines_follow_config_and_templates_and_sum_to_the_total(synth: Synthesized, report: Report, environment_name: str) -> None:
    config = cfg.load(environment_name, None)
    estimate = next(e for e in report.estimates if e.stage == config.stage_name)
    prices = cost.load_prices()["prices"]
    lines = {line.item: line for line in estimate.lines}
    assert lines["NAT gateway hours"].quantity == config.network.nat_gateways * 730
    assert lines["NAT gateway hours"].unit_price == prices["nat_gateway_hour"]["usd"]
    endpoints = [
        e
        for e in synth.template(environment_name, "network").find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert lines["Interface endpoint AZ-hours"].quantity == len(endpoints) * config.network.interface_endpoint_azs * 730
    keys = sum(
        1
        for stack in assembly_stacks(synth.outdir)
        if stack.stage.removeprefix("assembly-") == config.stage_name
        for resource in stack.resources().values()
        if resource["Type"] == "AWS::KMS::Key"
    )
    assert keys >= 3
    assert lines["Customer-managed keys"].quantity == keys
    for line in estimate.lines:
        assert line.monthly == round(line.quantity * line.unit_price, 2)
    assert estimate.total == round(sum(line.monthly for line in estimate.lines), 2)
    assert round(sum(estimate.by_service().values()), 2) == estimate.total
    assert estimate.total > 0
    # Every usage assumption a line relied on is stated with its unit and reason.
    for key in ("nat_gb", "endpoint_gb", "kms_requests_10k"):
        assert estimate.assumptions[key].why
    assert any(line.service == "Fargate" for line in estimate.lines)


def test_production_costs_more_than_the_sandbox(report: Report) -> None:
    totals = {e.stage: e.total for e in report.estimates}
    assert totals["Production"] > totals["Sandbox"] > 0


def test_cli_writes_markdown_html_json_and_diagram(synth: Synthesized, tmp_path: Path) -> None:
    # A copy, so the session assembly is not written to.
    import shutil

    outdir = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, outdir)
    assert report_main(["report", str(outdir)]) == 0
    written = sorted(p.name for p in (outdir / "report").iterdir())
    assert written == ["architecture.svg", "index.html", "report.json", "report.md"]
    page = (outdir / "report" / "index.html").read_text()
    # Self-contained: no scripts, stylesheets, images or fonts fetched from anywhere.
    assert not re.search(r"<script|<link|<img|@import|src=|url\((?!#)", page)
    assert "<svg" in page
    data = json.loads((outdir / "report" / "report.json").read_text())
    assert sorted(data["requirements"], key=lambda r: int(r[1:])) == [f"R{i}" for i in range(1, 17)]
    for stage in data["costs"].values():
        assert stage["total_usd"] == round(sum(line["monthly_usd"] for line in stage["lines"]), 2)


def test_cli_without_assembly_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_main(["report", str(tmp_path)]) == 1
    assert "run `make synth` first" in capsys.readouterr().err


# --- a tiny synthetic app: exact output --------------------------------------------------------------

TINY_TEST = """
import pytest

pytestmark = pytest.mark.requirements("R7")


def test_bucket_locked():
    pass


class TestBucket:
    def test_one(self):
        pass

    def test_two(self):
        pass


@pytest.mark.requirements("R6")
def test_key_rotates():
    pass
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny")
    (root / "tests").mkdir()
    (root / "tests" / "test_tiny.py").write_text(TINY_TEST)
    outdir = root / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    stage = cdk.Stage(app, "Tiny")
    stack = cdk.Stack(stage, "Store", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    trace(key, ["R6"], ["security"], "Records are encrypted under a rotated customer key.")
    bucket = s3.Bucket(
        stack,
        "Records",
        encryption_key=key,
        object_lock_enabled=True,
        intelligent_tiering_configurations=[s3.IntelligentTieringConfiguration(name="archive", archive_access_tier_time=cdk.Duration.days(90))],
    )
    acknowledge(bucket, "AwsSolutions-S1", "Tiny test app: access logging is out of scope of this synthetic fixture.")
    trace(bucket, ["R7"], ["security", "cost-optimisation"], "Object Lock keeps records immutable; tiering archives old images.")
    write_acknowledgments_to_templates(stage)
    app.synth()
    return root, outdir


def test_tiny_app_matrix_is_exact(tiny: tuple[Path, Path]) -> None:
    root, outdir = tiny
    report = build(outdir, tests_root=root / "tests", repo_root=root)
    rows = {row.id: row for row in report.requirements}
    assert report.gaps == tuple(f"R{i}" for i in range(1, 17) if i not in (6, 7))
    assert [(r.stack, r.type) for r in rows["R6"].resources] == [("Tiny-Store", "AWS::KMS::Key")]
    assert [(r.stack, r.type) for r in rows["R7"].resources] == [("Tiny-Store", "AWS::S3::Bucket")]
    bucket = rows["R7"].resources[0]
    assert bucket.logical_id.startswith("Records")
    assert bucket.acknowledged == (("AwsSolutions-S1", "Tiny test app: access logging is out of scope of this synthetic fixture."),)
    assert rows["R7"].pillars == ("security", "cost-optimisation")
    markdown = render.markdown(report)
    assert "| [R6](#r6) | relational patient records, ACID, encrypted | implemented | Tiny 1 | 0 | PASSED | tests/test_tiny.py (1) |" in markdown
    assert "| [R7](#r7) | large files cheap, encrypted, tamper-proof | implemented | Tiny 1 | 1 | PASSED | tests/test_tiny.py (4) |" in markdown
    assert "| [R8](#r8) | profiles load instantly | **GAP: no resource implements it yet** | none | 0 | n/a | none |" in markdown
    assert f"| Tiny-Store | {bucket.logical_id} | AWS::S3::Bucket | AwsSolutions-S1: Tiny test app: access logging" in markdown
    assert "- `Store/Records`: Object Lock keeps records immutable; tiering archives old images." in markdown
    pillars = {p.pillar: p for p in report.pillars}
    assert pillars["cost-optimisation"].requirements == ("R7",)
    assert pillars["security"].requirements == ("R6", "R7")
    assert pillars["reliability"].requirements == ()


def test_tiny_app_tests_index(tiny: tuple[Path, Path]) -> None:
    root, _ = tiny
    index = requirement_tests(root / "tests", root)
    assert {rid: [(t.path, t.tests) for t in modules] for rid, modules in index.items()} == {
        "R7": [("tests/test_tiny.py", 4)],
        "R6": [("tests/test_tiny.py", 1)],
    }


def test_tiny_app_cost_is_exact_with_a_given_price_table(tiny: tuple[Path, Path]) -> None:
    _, outdir = tiny
    from tools.assembly import stacks

    prices = {
        "hours_per_month": 730,
        "prices": {
            key: {"usd": usd, "unit": key}
            for key, usd in {
                "kms_key_month": 1.0,
                "kms_requests_10k": 0.03,
                "s3_standard_gb_month": 0.02,
                "s3_it_frequent_gb_month": 0.02,
                "s3_it_infrequent_gb_month": 0.01,
                "s3_it_archive_instant_gb_month": 0.004,
                "s3_it_monitoring_1k_objects": 0.0025,
            }.items()
        },
    }

    def use(value: object) -> dict[str, object]:
        return {"value": value, "unit": "u", "why": "test"}

    usage = {
        "environments": {
            "production": {
                "kms_requests_10k": use(100),
                "s3_standard_gb": use(10),
                "s3_records_gb": use(1000),
                "s3_records_tier_split": use([0.5, 0.3, 0.2]),
                "s3_records_objects_thousand": use(400),
            }
        }
    }
    estimate = cost.estimate(stacks(outdir), "Tiny", prices=prices, usage=usage)
    assert [(line.item, line.quantity, line.monthly) for line in estimate.lines] == [
        ("Customer-managed keys", 1, 1.0),
        ("API requests", 100, 3.0),
        ("Standard storage", 10, 0.2),
        ("Records: Intelligent-Tiering frequent", 500, 10.0),
        ("Records: Intelligent-Tiering infrequent", 300, 3.0),
        ("Records: Intelligent-Tiering archive instant", 200, 0.8),
        ("Records: Intelligent-Tiering monitoring", 400, 1.0),
    ]
    assert estimate.total == 19.0
    assert "NAT gateways" in estimate.not_estimated
    assert sorted(estimate.assumptions) == sorted(usage["environments"]["production"])


def test_price_table_is_dated_and_sourced() -> None:
    prices = cost.load_prices()
    assert prices["region"] == "eu-central-1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices["as_of"])
    for key, entry in prices["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        assert entry["unit"], key
    usage = cost.load_usage()["environments"]
    assert set(usage["sandbox"]) == set(usage["production"])
    for environment in usage.values():
        for key, entry in environment.items():
            assert entry["unit"] and entry["why"], key


# --- every cost rule against the template shapes CDK's own constructs produce ------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One stack with a resource of each priced service, built with the CDK constructs the stacks use
    (no compliance gates: this app exists only to give the cost rules real template shapes)."""
    from aws_cdk import aws_backup as backup
    from aws_cdk import aws_cloudtrail as cloudtrail
    from aws_cdk import aws_config as config
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_elasticache as elasticache
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_guardduty as guardduty
    from aws_cdk import aws_macie as macie
    from aws_cdk import aws_rds as rds
    from aws_cdk import aws_wafv2 as wafv2

    outdir = tmp_path_factory.mktemp("full") / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    stage = cdk.Stage(app, "Full")
    stack = cdk.Stack(stage, "All", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=2)
    task = ecs.FargateTaskDefinition(
        stack, "Task", cpu=512, memory_limit_mib=1024, runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64)
    )
    task.add_container("App", image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:latest"))
    service = ecs.FargateService(stack, "Service", cluster=ecs.Cluster(stack, "Cluster", vpc=vpc), task_definition=task, desired_count=2)
    service.auto_scale_task_count(min_capacity=2, max_capacity=6).scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
    rds.DatabaseCluster(
        stack,
        "Db",
        engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_4),
        vpc=vpc,
        writer=rds.ClusterInstance.serverless_v2("Writer"),
        readers=[rds.ClusterInstance.serverless_v2("Reader", scale_with_writer=True)],
        serverless_v2_min_capacity=0.5,
        serverless_v2_max_capacity=4,
    )
    elasticache.CfnReplicationGroup(
        stack,
        "Cache",
        replication_group_description="sessions",
        cache_node_type="cache.t4g.small",
        engine="valkey",
        num_cache_clusters=2,
        transit_encryption_enabled=True,
    )
    elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=vpc, internet_facing=True)
    visibility = wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name="m", sampled_requests_enabled=True)
    wafv2.CfnWebACL(
        stack,
        "Acl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=visibility,
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=i,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=name)
                ),
                visibility_config=visibility,
            )
            for i, name in enumerate(["AWSManagedRulesCommonRuleSet", "AWSManagedRulesSQLiRuleSet"])
        ],
    )
    trail = cloudtrail.Trail(stack, "Trail")
    trail.add_s3_event_selector([cloudtrail.S3EventSelector(bucket=s3.Bucket(stack, "Records", object_lock_enabled=True))])
    config.ManagedRule(stack, "Rule", identifier=config.ManagedRuleIdentifiers.S3_BUCKET_VERSIONING_ENABLED)
    guardduty.CfnDetector(stack, "Detector", enable=True)
    backup.BackupVault(stack, "Vault")
    macie.CfnSession(stack, "Macie")
    app.synth()
    return outdir


def test_every_cost_rule_reads_cdk_template_shapes(full: Path) -> None:
    from tools.assembly import stacks

    found = stacks(full)
    resources = found[0].resources()

    def count(kind: str) -> int:
        return sum(1 for r in resources.values() if r["Type"] == kind)

    usage = cost.load_usage()["environments"]["production"]
    prices = cost.load_prices()["prices"]
    estimate = cost.estimate(found, "Full")
    lines = {line.item: line for line in estimate.lines}
    assert estimate.unpriced == []
    assert estimate.not_estimated == [
        "VPC interface endpoints",
        "CloudFront",
        "KMS keys",
        "CloudWatch Logs",
        "CloudWatch alarms and dashboards",
        "X-Ray",
        "Lambda",
    ]
    assert lines["NAT gateway hours"].quantity == 2 * 730
    tasks = 2 + usage["fargate_average_tasks_over_minimum"]["value"]
    vcpu = next(line for item, line in lines.items() if item.endswith("vCPU-hours (ARM64)"))
    assert (vcpu.quantity, vcpu.unit_price) == (tasks * 0.5 * 730, prices["fargate_vcpu_hour_arm"]["usd"])
    memory = next(line for item, line in lines.items() if item.endswith("GB-hours (ARM64)"))
    assert memory.quantity == tasks * 1 * 730
    acu = next(line for item, line in lines.items() if item.endswith("ACU-hours"))
    assert acu.quantity == 2 * min(max(usage["aurora_average_acu"]["value"], 0.5), 4) * 730
    node = next(line for item, line in lines.items() if item.endswith("node-hours"))
    table = prices["elasticache_node_hour"]
    assert (node.quantity, node.unit_price) == (2 * 730, round(table["usd_by_node_type"]["cache.t4g.small"] * (1 - table["valkey_discount"]), 6))
    assert lines["ALB hours"].quantity == 730
    assert lines["Rules and managed rule groups"].quantity == 2
    assert lines["Secrets"].quantity == count("AWS::SecretsManager::Secret") >= 1
    assert lines["S3 data events"].quantity == usage["cloudtrail_data_events_million"]["value"] * 10
    assert lines["Rule evaluations"].quantity == count("AWS::Config::ConfigRule") * usage["config_evaluations_per_rule"]["value"]
    assert "Configuration items" not in lines  # no recorder in this app
    assert {"CloudTrail events analysed", "Flow and DNS logs analysed"} <= set(lines)
    assert sorted(item.split(" ", 1)[1] for item in lines if item.startswith("Vault")) == ["Aurora snapshot storage", "S3 backup storage"]
    assert "Cross-region copy transfer" not in lines
    assert lines["Records: Standard storage"].quantity == usage["s3_records_gb"]["value"]  # Object Lock, no tiering
    assert lines["Buckets evaluated"].quantity == count("AWS::S3::Bucket")
    assert estimate.total == round(sum(line.monthly for line in estimate.lines), 2)


@pytest.mark.parametrize(
    ("stage", "environment_name"),
    [("Sandbox", "sandbox"), ("Production", "production"), ("Pipeline-Sandbox", "sandbox"), ("Organization", "production")],
)
def test_stages_are_priced_as_their_environment(stage: str, environment_name: str) -> None:
    assert cost.environment_of(stage) == environment_name


def test_a_failed_gate_is_shown_on_the_requirement_it_touches(tmp_path: Path) -> None:
    from constructs.compliance import add_compliance_gates

    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    add_compliance_gates(app)
    stage = cdk.Stage(app, "Broken")
    stack = cdk.Stack(stage, "Store", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    trace(s3.Bucket(stack, "Loose"), ["R11"], ["security"], "A bucket with no hardening at all, to fail the gate.")
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = build(outdir, tests_root=tmp_path, repo_root=tmp_path)
    row = next(r for r in report.requirements if r.id == "R11")
    assert row.gate == "FAILED"
    assert "AwsSolutions-S1" in {rule for _, rule in row.violations}
    assert not report.assembly.gate_passed
    assert "VIOLATION AwsSolutions-S1" in render.markdown(report)


def test_pipeline_copies_of_the_stages_are_not_priced_twice(pipeline_synth: PipelineSynthesized) -> None:
    # The pipeline app holds only the pipeline's own Sandbox/Production stages: the same
    # deployments as the environment stages, so the estimate must not count them again.
    report = build(pipeline_synth.outdir)
    assert {stage for stage in report.assembly.stages() if stage.startswith("Pipeline-")} == {"Pipeline-Sandbox", "Pipeline-Production"}
    assert [e.stage for e in report.estimates if e.stage.startswith("Pipeline-")] == []
