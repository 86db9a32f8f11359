"""The teaching and audit report (tools/report): on the real synthesized app and on a tiny app."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import aws_cdk as cdk
import markupsafe
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs.compliance import acknowledge, write_acknowledgments_to_templates
from constructs.traceability import METADATA_TYPE, trace

from stacks import config as cfg
from tests.conftest import PipelineSynthesized, Synthesized
from tests.tools.report import browser
from tools import summary
from tools.assembly import deployments
from tools.assembly import stacks as assembly_stacks
from tools.bench import deployment_table
from tools.report import cost, render, status
from tools.report.__main__ import main as report_main
from tools.report.build import Report, build
from tools.report.tests_index import requirement_tests

# The report is part of the evidence every synth produces before anything is deployed.
pytestmark = pytest.mark.requirements("R16")

ROOT = Path(__file__).resolve().parents[3]


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


def _docs_statuses() -> dict[str, str]:
    """Read docs/requirements.md's status table the way a reader does: id column -> bold status."""
    text = (ROOT / "docs" / "requirements.md").read_text()
    found = {}
    for line in text.split(status.BEGIN, 1)[1].split(status.END, 1)[0].splitlines():
        match = re.match(r"\| (R\d+) \| \*\*([a-z ]+)\*\* \|", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_every_status_in_the_report_is_the_docs_status(synth: Synthesized, report: Report, tmp_path: Path) -> None:
    """One source: the report's status of each requirement (rows, JSON, HTML, Markdown) equals docs/requirements.md's."""
    docs = _docs_statuses()
    assert sorted(docs, key=lambda r: int(r[1:])) == [f"R{i}" for i in range(1, 17)]
    assert {row.id: row.status for row in report.requirements} == docs
    assert {rid: r["status"] for rid, r in render.as_json(report)["requirements"].items()} == docs
    markdown = render.markdown(report)
    page = render.html_page(report)
    for rid, value in docs.items():
        assert re.search(rf"\| \[{rid}\]\(#{rid.lower()}\) \| [^|]+ \| \*\*{value}\*\*( \(contradicted\))? \|", markdown), rid
        assert re.search(rf'<details id="{rid.lower()}"><summary>{rid}: [^<]+ <span class="badge [a-z-]+">{value}</span>', page), rid
    # The claims the issue named are not reported as done.
    assert (docs["R3"], docs["R14"], docs["R15"]) == ("partial", "partial", "partial")
    assert report.gaps == tuple(rid for rid, value in docs.items() if value in ("partial", "not done"))


def test_the_assembly_bears_every_claim_out(synth: Synthesized, report: Report) -> None:
    """Status from evidence: each done/partial requirement has traced resources, marked tests and the named resource types;
    what is said to be missing (the Audit Manager assessment) is really absent."""
    traced = _traced_requirements(synth.app)
    # This app leaves the pipeline out (the pipeline tests synthesize it alone): the report must say R16's evidence is not here.
    assert {row.id for row in report.requirements if row.status in ("done", "partial")} - traced == {"R16"}
    assert {row.id: row.contradictions for row in report.requirements if row.contradictions} == {
        "R16": (
            "no synthesized resource is traced to it",
            "no AWS::CodePipeline::Pipeline in the deployments",
            "no AWS::CodeBuild::Project in the deployments",
        )
    }
    r14 = next(row for row in report.requirements if row.id == "R14")
    assert r14.absent == (("AWS::AuditManager::Assessment", 0),)
    kinds = {r["Type"] for s in assembly_stacks(synth.outdir) for r in s.resources().values()}
    for row in report.requirements:
        if row.id != "R16":
            assert {kind for kind, n in row.evidence if n} == set(row.claim.evidence) <= kinds, row.id


def test_traced_resources_carry_stack_logical_id_and_type(synth: Synthesized, report: Report) -> None:
    data_key_ids = {lid for lid in synth.template("production", "keys").find_resources("AWS::KMS::Key") if lid.startswith("DataKey")}
    assert len(data_key_ids) == 1
    r6 = next(row for row in report.requirements if row.id == "R6")
    keys = {(r.stack, r.logical_id, r.type) for r in r6.resources if r.type == "AWS::KMS::Key"}
    data_key_id = data_key_ids.pop()
    assert ("Production-Keys", data_key_id, "AWS::KMS::Key") in keys
    key = next(r for r in r6.resources if r.logical_id == data_key_id and r.stack == "Production-Keys")
    assert key.display_name == "Production/Keys" and key.where.startswith("Production/Keys/")
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
    assert str(markupsafe.escape(reason)) in page  # the reason itself, escaped as the template engine does
    assert "HIPAA.Security-VPCNoUnrestrictedRouteToIGW" in render.markdown(report)


def test_gate_result_is_read_from_the_validation_report(report: Report) -> None:
    assert report.assembly.gate_passed
    assert all(row.gate == ("n/a" if not row.resources else "PASSED") for row in report.requirements)


def test_every_link_of_the_markdown_report_has_its_anchor(report: Report) -> None:
    markdown = render.markdown(report)
    targets = set(re.findall(r"\]\(#([^)]+)\)", markdown))
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    assert {"summary", "requirements", "r1", "r16", "findings", "pillars", "deployments", "cost"} <= targets
    assert targets - anchors == set()


def test_findings_are_grouped_by_rule_with_counts(synth: Synthesized, report: Report) -> None:
    """Independent count: every acknowledgment written into the templates, per rule."""
    expected: dict[str, int] = {}
    for stack in assembly_stacks(synth.outdir):
        for resource in stack.resources().values():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                expected[rule["id"]] = expected.get(rule["id"], 0) + 1
    assert {f.rule: len(f.resources) for f in report.findings} == expected
    assert [len(f.resources) for f in report.findings] == sorted((len(f.resources) for f in report.findings), reverse=True)
    for finding in report.findings:
        assert sum(n for _, n in finding.reasons) == len(finding.resources)
    page = render.html_page(report)
    top = report.findings[0]
    assert f'<tr id="finding-{render.anchor(top.rule)}"><td><code>{top.rule}</code></td><td class="num">{len(top.resources)}</td>' in page


def test_paths_carry_their_stage_and_pillar_sentences_are_not_repeated(synth: Synthesized, report: Report) -> None:
    stages = set(report.assembly.stages())
    data = render.as_json(report)
    for row in data["requirements"].values():
        for resource in row["resources"]:
            assert resource["path"].split("/")[0] in stages, resource["path"]
    for pillar in report.pillars:
        sentences = [why for why, _ in pillar.whys]
        assert len(sentences) == len(set(sentences)), pillar.pillar
        for _, paths in pillar.whys:
            assert all(path.split("/")[0] in stages for path in paths), paths
    imaging = [paths for row in report.requirements if row.id == "R7" for why, paths in row.whys if "Intelligent-Tiering moves" in why]
    assert imaging == [("Production/Data/Imaging", "Production/Data/Records", "Sandbox/Data/Imaging", "Sandbox/Data/Records")]


def test_the_sustainability_card_shows_the_decisions_in_code(report: Report) -> None:
    """docs/well-architected.md's sustainability decisions are traced where they are made (Graviton, scaling, tiering, DR copies only)."""
    card = next(p for p in report.pillars if p.pillar == "sustainability")
    sentences = " ".join(why for why, _ in card.whys)
    for decision in ("Lambda functions run on ARM64", "ARM64 (Graviton) Fargate tasks", "Cache nodes are Graviton (cache.r7g.large)",
                     "Cache nodes are Graviton (cache.t4g.micro)", "Intelligent-Tiering moves", "Aurora Serverless v2 follows the load",
                     "pauses at 0 ACU after 10 idle minutes", "backup copies only, no standby stack", "logs expire"):  # fmt: skip
        assert decision in sentences, decision
    assert set(card.requirements) >= {"R4", "R6", "R7", "R8", "R15"}


def test_tests_are_mapped_from_the_requirements_markers(report: Report) -> None:
    r1 = next(row for row in report.requirements if row.id == "R1")
    assert "tests/stacks/test_network.py" in [t.path for t in r1.tests]
    r16 = next(row for row in report.requirements if row.id == "R16")
    assert "tests/tools/report/test_report.py" in [t.path for t in r16.tests]


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


@pytest.mark.parametrize(
    ("value", "shown"), [(2166.66, "$2,170"), (344.73, "$345"), (34.4, "$34"), (0.4, "$0.40"), (0.0, "$0"), (12345.0, "$12,300")]
)
def test_money_is_rounded_to_what_the_inputs_justify(value: float, shown: str) -> None:
    assert render.money(value) == shown


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
    assert len(page.encode()) < 300_000  # it was 432 KB before contents and collapsible sections
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
    assert [(r.stack, r.type) for r in rows["R6"].resources] == [("Tiny-Store", "AWS::KMS::Key")]
    assert [(r.stack, r.type) for r in rows["R7"].resources] == [("Tiny-Store", "AWS::S3::Bucket")]
    bucket = rows["R7"].resources[0]
    assert bucket.logical_id.startswith("Records")
    assert bucket.where == "Tiny/Store/Records/Resource"
    assert bucket.acknowledged == (("AwsSolutions-S1", "Tiny test app: access logging is out of scope of this synthetic fixture."),)
    assert rows["R7"].pillars == ("security", "cost-optimisation")
    assert rows["R7"].whys == (("Object Lock keeps records immutable; tiering archives old images.", ("Tiny/Store/Records",)),)
    # The statuses are the source's claims, checked against this app: R6 is claimed done, but the tiny app has no RDS cluster.
    assert rows["R6"].status == status.STATUS["R6"].status == "done"
    assert rows["R6"].contradictions == ("no AWS::RDS::DBCluster in the deployments", "no AWS::RDS::DBInstance in the deployments")
    assert rows["R8"].contradictions[:2] == ("no synthesized resource is traced to it", "no test is marked for it")
    assert "R6" in report.contradicted
    markdown = render.markdown(report)
    assert "| [R6](#r6) | relational patient records, ACID, encrypted | **done** (contradicted) | — | PASSED | 1 |" in markdown
    assert "**Not borne out by the assembly:** no AWS::RDS::DBCluster in the deployments; no AWS::RDS::DBInstance in the deployments." in markdown
    assert "| AwsSolutions-S1 | 1 | 1 | Tiny test app: access logging is out of scope of this synthetic fixture. (1) |" in markdown
    assert "- Object Lock keeps records immutable; tiering archives old images. (`Tiny/Store/Records`)" in markdown
    pillars = {p.pillar: p for p in report.pillars}
    assert pillars["cost-optimisation"].requirements == ("R7",)
    assert pillars["security"].requirements == ("R6", "R7")
    assert pillars["reliability"].requirements == ()


def test_a_resource_said_to_be_missing_but_present_contradicts_the_claim(tmp_path: Path) -> None:
    """R14 says the Audit Manager assessment is missing: an assembly holding one contradicts that."""
    from aws_cdk import aws_auditmanager as auditmanager

    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(cdk.Stage(app, "Tiny"), "Audit", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    assessment = auditmanager.CfnAssessment(stack, "Assessment", framework_id="11111111-2222-3333-4444-555555555555", name="hipaa")
    trace(assessment, ["R14"], ["security"], "An Audit Manager assessment, to contradict the claim that it is missing.")
    app.synth()
    row = next(r for r in build(outdir, tests_root=tmp_path, repo_root=tmp_path).requirements if r.id == "R14")
    assert row.absent == (("AWS::AuditManager::Assessment", 1),)
    assert "said to be missing, but the deployments hold 1 AWS::AuditManager::Assessment: update tools/report/status.py" in row.contradictions


# --- one count per deployment ------------------------------------------------------------------------


def _raw_deployments(outdir: Path) -> dict[tuple[str, str], list[str]]:
    """Independent of tools.assembly: (environment, stack name) -> display names, read from the manifests."""
    found: dict[tuple[str, str], list[str]] = {}

    def walk(directory: Path) -> None:
        for aid, artifact in json.loads((directory / "manifest.json").read_text())["artifacts"].items():
            if artifact["type"] == "cdk:cloud-assembly":
                walk(directory / artifact["properties"]["directoryName"])
            elif artifact["type"] == "aws:cloudformation:stack":
                key = (artifact["environment"], artifact["properties"].get("stackName", aid))
                found.setdefault(key, []).append(artifact.get("displayName", aid))

    walk(outdir)
    return found


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stage and a pipeline holding a copy of it, as app.py builds them: Tiny/Store and Pipeline/Tiny/Store both deploy Tiny-Store."""
    outdir = tmp_path_factory.mktemp("delivered") / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    env = cdk.Environment(account="123456789012", region="eu-central-1")

    def stage(scope: cdk.App | cdk.Stack) -> None:
        store = cdk.Stack(cdk.Stage(scope, "Tiny"), "Store", env=env)
        trace(kms.Key(store, "Key", enable_key_rotation=True), ["R6"], ["security"], "Records are encrypted under a rotated customer key.")
        s3.CfnBucket(store, "Logs")

    stage(app)
    pipeline = cdk.Stack(app, "Pipeline", env=env)
    s3.CfnBucket(pipeline, "Artifacts")
    stage(pipeline)
    app.synth()
    return outdir


def test_the_pipeline_copy_of_a_stage_is_the_same_deployment(delivered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = _raw_deployments(delivered)
    assert sorted(raw.values()) == [["Pipeline"], ["Tiny/Store", "Pipeline/Tiny/Store"]]
    found = deployments(assembly_stacks(delivered))
    assert [(d.display_name, d.name, [c.display_name for c in d.copies], d.delivered_by) for d in found] == [
        ("Tiny/Store", "Tiny-Store", ["Pipeline/Tiny/Store"], ("Pipeline",)),
        ("Pipeline", "Pipeline", [], ()),
    ]
    report = build(delivered, tests_root=delivered, repo_root=delivered)
    assert len(report.assembly.resources) == 2 + 1  # key and bucket once, the pipeline's bucket
    r6 = next(row for row in report.requirements if row.id == "R6")
    assert [(r.display_name, r.type) for r in r6.resources] == [("Tiny/Store", "AWS::KMS::Key")]
    assert summary.main(["summary", str(delivered)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Tiny/Store\s+Tiny-Store\s+eu-central-1\s+123456789012\s+2\s+0\s+Pipeline", out[1])
    assert re.fullmatch(r"Pipeline\s+Pipeline\s+eu-central-1\s+123456789012\s+1\s+0\s+-", out[2])
    assert out[3] == (
        "2 deployments, 3 resources; regions: eu-central-1 (2); the assembly holds 3 stacks, 1 of them the pipeline's copies of the stages above"
    )
    assert deployment_table(delivered).splitlines()[-1] == "2 deployments, 3 resources (3 stacks synthesized: 1 pipeline copies)"


def test_summary_names_what_cdk_deploy_takes(synth: Synthesized, capsys: pytest.CaptureFixture[str]) -> None:
    """`cdk deploy 'Sandbox/*'` matches hierarchical ids (Sandbox/Keys), not CloudFormation names (Sandbox-Keys)."""
    assert summary.main(["summary", str(synth.outdir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    raw = _raw_deployments(synth.outdir)
    shown = [line.split()[0] for line in lines[1 : 1 + len(raw)]]
    assert shown == [names[0] for names in raw.values()]
    assert "Sandbox/Keys" in shown and "Production/Network" in shown
    assert lines[1 + len(raw)].startswith(f"{len(raw)} deployments, {sum(len(s.resources()) for s in assembly_stacks(synth.outdir))} resources")


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
        "Cognito user pools",
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


def test_a_pipeline_only_app_counts_each_stage_once(pipeline_synth: PipelineSynthesized) -> None:
    """The pipeline app holds only the pipeline's own stages: each stack is one deployment, delivered by the pipeline, priced once."""
    raw = _raw_deployments(pipeline_synth.outdir)
    report = build(pipeline_synth.outdir)
    found = report.assembly.deployments
    assert len(found) == len(raw) == report.assembly.artifacts
    staged = [d for d in found if d.display_name.startswith("Pipeline/")]
    per_stage = Counter(names[0].split("/")[1] for names in raw.values() if names[0].startswith("Pipeline/"))
    assert set(per_stage) == {"Sandbox", "Production"} and per_stage["Sandbox"] == per_stage["Production"] >= 12
    assert len(staged) == sum(per_stage.values())
    assert all(d.delivered_by == ("Pipeline",) for d in staged)
    assert sorted(e.stage for e in report.estimates) == ["Production", "Sandbox"]  # the environment stages the pipeline holds
    r16 = next(row for row in report.requirements if row.id == "R16")
    assert r16.resources and r16.contradictions == ()


# --- the page in a real browser (Debian's chromium; `make report-test-deps`) ---------------------------


def test_the_report_renders_in_a_browser_without_overflow_and_with_working_anchors(synth: Synthesized, tmp_path: Path) -> None:
    report = build(synth.outdir)
    page = tmp_path / "index.html"
    page.write_text(render.html_page(report, "<svg xmlns='http://www.w3.org/2000/svg' width='2400' height='300'></svg>"))
    shot = browser.png_stats(browser.screenshot(page, tmp_path))
    assert (shot.width, shot.height) == (browser.WIDTH, 1400)
    assert shot.colours > 50 and shot.non_background > 0.05, shot  # text, badges and tables, not a blank page
    measured = browser.layout(page, tmp_path)
    assert not measured.overflows, measured
    assert measured.broken == ()
    assert measured.links >= 16 + 6  # at least the contents: every requirement and pillar
    assert measured.scroll_height < 12_000, measured  # it was over 16,000 px with everything expanded


def test_the_names_shown_are_what_cdk_deploy_selects(delivered: Path) -> None:
    """Ask the pinned CDK CLI itself (offline, reading the assembly): `cdk deploy 'Tiny/*'` takes the stage's
    stack by its hierarchical id and leaves the pipeline's copy alone; the CloudFormation name selects nothing."""
    import os
    import subprocess
    import sys

    cli = ROOT / "node_modules" / ".bin" / "cdk"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "CDK_DISABLE_CLI_TELEMETRY": "true"}

    def listed(pattern: str) -> list[str]:
        done = subprocess.run(
            [str(cli), "--no-notices", "ls", "--app", str(delivered), pattern], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        return [line.split(" ")[0] for line in done.stdout.splitlines() if line.strip()]

    shown = [d.display_name for d in deployments(assembly_stacks(delivered))]
    assert listed("Tiny/*") == ["Tiny/Store"] == [name for name in shown if name.startswith("Tiny/")]
    assert listed("Pipeline/*/*") == ["Pipeline/Tiny/Store"]
    assert listed("Tiny-Store") == []
