"""What each function's asset holds, and the shared FunctionSettings of constructs/medivault_function.py.

Every function of lambda/ is built in one bare ``cdk.Stack`` (no stage, no gates: this is about the
asset). The staged asset directory is found through the function itself: its Code.S3Key is the
asset hash, the stack's ``*.assets.json`` maps that hash to the staged directory in the cloud
assembly, and that directory must hold exactly the function's folder plus ``mv_shared/`` (with the
same files as the repository, no __pycache__).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs.medivault_function import LAMBDA_ROOT, SHARED_SOURCE, FunctionSettings, MediVaultFunction

pytestmark = pytest.mark.requirements("R10")

FUNCTIONS = sorted(p.name for p in LAMBDA_ROOT.iterdir() if (p / "handler.py").is_file())


def _settings(stack: cdk.Stack, **changes: object) -> FunctionSettings:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    settings = FunctionSettings(
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="app"),
        security_group=ec2.SecurityGroup(stack, "Functions", vpc=vpc),
        logs_key=kms.Key(stack, "LogsKey"),
        queue_key=kms.Key(stack, "QueueKey"),
        log_retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        powertools_layer_version=27,
    )
    return settings.replace(**changes) if changes else settings


def _build(outdir: Path, source_root: Path, sources: list[str]) -> dict[str, Path]:
    """Synthesize one function per source; {source: staged asset directory}."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Functions", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    settings = _settings(stack)
    for source in sources:
        MediVaultFunction(stack, source, source=source, description=source, settings=settings, source_root=source_root)
    app.synth()
    resources = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    manifest = json.loads((outdir / "Functions.assets.json").read_text())["files"]
    staged: dict[str, Path] = {}
    for resource in resources.values():
        props = resource["Properties"]
        source = props["Handler"].split(".")[0]
        asset_hash = props["Code"]["S3Key"].removesuffix(".zip")
        staged[source] = outdir / manifest[asset_hash]["source"]["path"]
    assert sorted(staged) == sorted(sources)
    return staged


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def test_each_asset_holds_exactly_its_own_folder_and_the_shared_one(tmp_path: Path) -> None:
    assert len(FUNCTIONS) == 7 and SHARED_SOURCE not in FUNCTIONS
    staged = _build(tmp_path / "out", LAMBDA_ROOT, FUNCTIONS)
    for source, folder in staged.items():
        assert sorted(p.name for p in folder.iterdir()) == sorted([source, SHARED_SOURCE]), source
        assert _files(folder / source) == _files(LAMBDA_ROOT / source), source
        assert _files(folder / SHARED_SOURCE) == _files(LAMBDA_ROOT / SHARED_SOURCE), source
        assert not list(folder.rglob("__pycache__")), source
    assert len({p.name for p in staged.values()}) == len(FUNCTIONS)  # seven assets, one per function


def test_changing_one_function_changes_only_its_asset_hash(tmp_path: Path) -> None:
    root = tmp_path / "lambda"
    for name in ("mv_findings_notifier", "mv_macie_quarantine", SHARED_SOURCE):
        shutil.copytree(LAMBDA_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    sources = ["mv_findings_notifier", "mv_macie_quarantine"]
    before = {s: p.name for s, p in _build(tmp_path / "a", root, sources).items()}
    (root / "mv_findings_notifier" / "logic.py").write_text((root / "mv_findings_notifier" / "logic.py").read_text() + "\n# changed\n")
    # Neither bytecode nor dot files (a root .gitkeep, an editor's swap file) reach an asset.
    (root / "mv_macie_quarantine" / "__pycache__").mkdir()
    (root / "mv_macie_quarantine" / "__pycache__" / "logic.cpython-314.pyc").write_bytes(b"bytecode is not shipped")
    (root / "mv_macie_quarantine" / ".logic.py.swp").write_bytes(b"swap")
    (root / ".gitkeep").write_text("")
    after = {s: p.name for s, p in _build(tmp_path / "b", root, sources).items()}
    assert after["mv_findings_notifier"] != before["mv_findings_notifier"]
    assert after["mv_macie_quarantine"] == before["mv_macie_quarantine"]
    # The shared folder ships in both: changing it changes both.
    (root / SHARED_SOURCE / "settings.py").write_text((root / SHARED_SOURCE / "settings.py").read_text() + "\n# changed\n")
    shared = {s: p.name for s, p in _build(tmp_path / "c", root, sources).items()}
    assert shared["mv_findings_notifier"] != after["mv_findings_notifier"] and shared["mv_macie_quarantine"] != after["mv_macie_quarantine"]


def test_a_function_that_does_not_import_the_shared_folder_ships_alone(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "lambda"
    root = tmp_path / "lambda"
    shutil.copytree(fixtures / "echo", root / "echo")
    shutil.copytree(LAMBDA_ROOT / SHARED_SOURCE, root / SHARED_SOURCE, ignore=shutil.ignore_patterns("__pycache__"))
    [folder] = _build(tmp_path / "out", root, ["echo"]).values()
    assert sorted(p.name for p in folder.iterdir()) == ["echo"]


def test_a_function_importing_a_missing_shared_folder_fails_synth(tmp_path: Path) -> None:
    root = tmp_path / "lambda"
    shutil.copytree(LAMBDA_ROOT / "mv_macie_job", root / "mv_macie_job", ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.raises(ValueError, match=r"^MediVaultFunction: mv_macie_job imports mv_shared but lambda/mv_shared/__init__.py does not exist$"):
        _build(tmp_path / "out", root, ["mv_macie_job"])


def _function_props(**kwargs: object) -> dict[str, object]:
    stack = cdk.Stack()
    settings = _settings(stack)
    MediVaultFunction(stack, "Fn", source="mv_macie_job", description="d", **kwargs, **({} if "vpc" in kwargs else {"settings": settings}))  # type: ignore[arg-type]
    [props] = [r["Properties"] for r in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()]
    return props  # type: ignore[no-any-return]


def test_settings_supply_every_repeated_keyword_and_a_keyword_overrides_its_field() -> None:
    stack = cdk.Stack()
    settings = _settings(stack, memory_size=512, timeout=cdk.Duration.minutes(2), reserved_concurrency=2)
    own = ec2.SecurityGroup(stack, "OwnGroup", vpc=settings.vpc)
    MediVaultFunction(stack, "Shared", source="mv_macie_job", description="d", settings=settings)
    MediVaultFunction(stack, "Own", source="mv_macie_job", description="d", settings=settings, security_group=own, memory_size=1024)
    template = Template.from_stack(stack).to_json()["Resources"]
    functions = {lid[:3]: r["Properties"] for lid, r in template.items() if r["Type"] == "AWS::Lambda::Function"}
    shared, overridden = functions["Sha"], functions["Own"]
    assert (shared["MemorySize"], shared["Timeout"], shared["ReservedConcurrentExecutions"]) == (512, 120, 2)
    assert (overridden["MemorySize"], overridden["Timeout"]) == (1024, 120)
    groups = {json.dumps(f["VpcConfig"]["SecurityGroupIds"]) for f in functions.values()}
    assert len(groups) == 2 and "OwnGroup" in json.dumps(overridden["VpcConfig"]) and "Functions" in json.dumps(shared["VpcConfig"])
    log_groups = [r["Properties"] for r in template.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert [g["RetentionInDays"] for g in log_groups] == [365, 365]


def test_the_keyword_signature_still_works_and_matches_settings() -> None:
    stack = cdk.Stack()
    s = _settings(stack)
    MediVaultFunction(
        stack,
        "Fn",
        source="mv_macie_job",
        description="d",
        vpc=s.vpc,
        vpc_subnets=s.vpc_subnets,
        security_group=s.security_group,
        logs_key=s.logs_key,
        queue_key=s.queue_key,
        log_retention=s.log_retention,
        removal_policy=s.removal_policy,
        powertools_layer_version=s.powertools_layer_version,
    )
    [props] = [r["Properties"] for r in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()]
    assert (props["MemorySize"], props["Timeout"], props["ReservedConcurrentExecutions"]) == (256, 60, 5)


def test_a_missing_keyword_names_itself() -> None:
    stack = cdk.Stack()
    settings = _settings(stack, security_group=None)
    with pytest.raises(ValueError, match=r"^MediVaultFunction: security_group is required \(pass security_group= or settings="):
        MediVaultFunction(stack, "Fn", source="mv_macie_job", description="d", settings=settings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"memory_size": 64}, r"^MediVaultFunction memory_size=64: allowed 128 to 10240 \(MB\)$"),
        ({"memory_size": 10241}, r"^MediVaultFunction memory_size=10241: allowed 128 to 10240"),
        ({"timeout": cdk.Duration.minutes(16)}, r"^MediVaultFunction timeout=960 s: allowed 1 to 900 seconds$"),
        ({"reserved_concurrency": 0}, r"^MediVaultFunction reserved_concurrency=0: allowed 1 or more"),
    ],
)
def test_values_lambda_would_refuse_fail_synth_with_one_line(change: dict[str, object], message: str) -> None:
    """Lambda quotas: memory 128-10,240 MB, timeout at most 900 s
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)."""
    with pytest.raises(ValueError, match=message):
        _settings(cdk.Stack(), **change)
    stack = cdk.Stack()
    with pytest.raises(ValueError, match=message):
        MediVaultFunction(stack, "Fn", source="mv_macie_job", description="d", settings=_settings(stack), **change)  # type: ignore[arg-type]
