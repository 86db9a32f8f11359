"""What a sandbox team sets on the command line (app.py): context / MEDIVAULT_* variables mapped onto
the typed config, validated with the one-line error; placeholders refused when deploying; sandbox and
production in one account refused unless the one-per-account singletons are shared."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

import app as entry
from stacks import config as cfg
from stacks.composition import guard_placeholders, new_app, placeholder_message
from stacks.config import domain as domain_cfg

ROOT = Path(__file__).resolve().parents[2]
REAL = {
    "sandbox_account": "123456789012",
    "sandbox_domain": "sbx.medivault-demo.de",
    "sandbox_hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "sandbox_alarm_email": "ops@medivault-demo.de",
    "sandbox_security_email": "security@medivault-demo.de",
    "sandbox_tracing_sidecar_digest": "sha256:" + "ab" * 32,
}


def _app(**context: str) -> cdk.App:
    return new_app(context=context)


def _sandbox(**context: str) -> cfg.EnvironmentConfig:
    return entry._environment(_app(**context), "sandbox")


def test_every_value_a_team_sets_comes_from_context() -> None:
    config = _sandbox(**REAL)
    assert config.account == "123456789012"
    assert config.domain == domain_cfg.DomainConfig(
        domain_name="sbx.medivault-demo.de", hosted_zone_id="Z0123456789ABCDEFGHIJ", hosted_zone_name="medivault-demo.de"
    )
    assert (config.alarm_email, config.audit.security_email) == ("ops@medivault-demo.de", "security@medivault-demo.de")
    assert config.app.tracing_sidecar_digest == "sha256:" + "ab" * 32
    assert config.placeholders() == []
    # The rest of the sandbox config is untouched.
    assert config.network == cfg.sandbox().network and config.backup == cfg.sandbox().backup


def test_environment_variables_work_like_context(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in REAL.items():
        monkeypatch.setenv(f"MEDIVAULT_{key.upper()}", value)
    monkeypatch.setenv("MEDIVAULT_SANDBOX_HOSTED_ZONE_NAME", "sbx.medivault-demo.de")
    config = entry._environment(_app(), "sandbox")
    assert config.placeholders() == []
    assert config.domain is not None and config.domain.hosted_zone_name == "sbx.medivault-demo.de"
    # Context wins over the environment.
    assert entry._environment(_app(sandbox_alarm_email="other@medivault-demo.de"), "sandbox").alarm_email == "other@medivault-demo.de"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"sandbox_domain": "Not A Name", "sandbox_hosted_zone_id": "Z0123456789ABC"}, r"^sandbox_domain: 'Not A Name' is not a lower-case DNS name"),
        ({"sandbox_domain": "app.medivault-demo.de"}, r"^sandbox_hosted_zone_id: sandbox_domain is set without its hosted zone; allowed: "),
        ({"sandbox_hosted_zone_id": "Z0123456789ABC"}, r"^sandbox_domain: a hosted zone is given without a domain"),
        ({"sandbox_domain": "app.medivault-demo.de", "sandbox_hosted_zone_id": "zone"}, r"^sandbox_hosted_zone_id: 'zone' is not a Route 53 zone ID"),
        (
            {"sandbox_domain": "app.other.de", "sandbox_hosted_zone_id": "Z0123456789ABC", "sandbox_hosted_zone_name": "medivault-demo.de"},
            r"^sandbox_domain: app.other.de is outside medivault-demo.de",
        ),
        ({"sandbox_alarm_email": "nobody"}, r"^sandbox_alarm_email: 'nobody' is not an e-mail address; allowed: name@domain.tld"),
        ({"sandbox_security_email": "a@b"}, r"^sandbox_security_email: 'a@b' is not an e-mail address"),
        (
            {"sandbox_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
            r"^sandbox_certificate_arn: .* is not an ACM certificate ARN",
        ),
        ({"sandbox_account": "12345"}, r"^sandbox_account: '12345' is not an AWS account ID; allowed: 12 digits"),
        ({"existing_guardduty_detector": "yes"}, r"^existing_guardduty_detector: 'yes' is not allowed; allowed: true, false"),
    ],
)
def test_invalid_settings_name_the_setting(context: dict[str, str], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _sandbox(**context)


def test_account_singletons_are_the_audit_baseline_switches() -> None:
    from stacks.config.audit import BASELINE_SWITCHES

    assert tuple(field for field, _, _ in cfg.ACCOUNT_SINGLETONS) == BASELINE_SWITCHES
    assert all(key == field.removeprefix("use_") for field, key, _ in cfg.ACCOUNT_SINGLETONS)


@pytest.mark.parametrize(("field", "key", "what"), cfg.ACCOUNT_SINGLETONS)
def test_existing_baseline_switches_reach_the_audit_config(field: str, key: str, what: str) -> None:
    """Global (`-c existing_...`) and per-stage (`-c sandbox_existing_...`) switches set the audit field."""
    for context in ({key: "true"}, {f"sandbox_{key}": "true"}):
        assert getattr(_sandbox(**context).audit, field) is True
    assert getattr(_sandbox().audit, field) is False
    # A per-stage switch applies to that stage only.
    assert getattr(entry._environment(_app(**{f"sandbox_{key}": "true"}), "production").audit, field) is False


def test_a_bad_sidecar_digest_names_the_setting() -> None:
    with pytest.raises(cfg.ConfigError, match=r"^sandbox_tracing_sidecar_digest: 'latest' is not an image digest; allowed: sha256:"):
        _sandbox(**{**REAL, "sandbox_tracing_sidecar_digest": "latest"})


def test_placeholders_are_listed_and_each_is_refused_when_deploying() -> None:
    review = [cfg.sandbox(), cfg.production()]
    refusals = {str(e).split(":")[0] for e in entry.deploy_refusals(review)}
    assert refusals == {
        f"{stage}_{setting}"
        for stage in ("sandbox", "production")
        for setting in ("account", "domain", "alarm_email", "security_email", "tracing_sidecar_digest")
    }
    [one] = entry.deploy_refusals([dataclasses.replace(_sandbox(**REAL), alarm_email="ops@medivault.example")])
    assert str(one).startswith("sandbox_alarm_email: ops@medivault.example is a reserved example address")
    assert "MEDIVAULT_SANDBOX_ALARM_EMAIL" in one.allowed
    assert entry.deploy_refusals([_sandbox(**REAL)]) == []


def test_production_always_has_a_domain_the_review_one_is_the_guarded_placeholder() -> None:
    production = cfg.production()
    assert production.domain == domain_cfg.PLACEHOLDER and production.domain.is_placeholder
    assert ("domain", "app.medivault.example in zone Z0PLACEHOLDER0000000 is the review placeholder domain") in production.placeholders()
    with pytest.raises(cfg.ConfigError, match=r"^domain: production has no domain"):
        dataclasses.replace(production, domain=None)
    real = dataclasses.replace(
        production, domain=domain_cfg.DomainConfig(domain_name="app.medivault.de", hosted_zone_id="Z0ABCDEF", hosted_zone_name="medivault.de")
    )
    assert "domain" not in dict(real.placeholders())


def _stages(**changes: str | None) -> list[cfg.EnvironmentConfig]:
    return [cfg.sandbox("123456789012"), cfg.production(changes.get("production", "123456789012"))]


def test_sandbox_and_production_in_one_account_are_refused() -> None:
    with pytest.raises(cfg.ConfigError, match=r"^existing_config_recorder: sandbox and production share account 123456789012"):
        cfg.require_separate_singletons(_stages())
    cfg.require_separate_singletons(_stages(production="210987654321"))
    cfg.require_separate_singletons([cfg.sandbox("123456789012"), cfg.sandbox(None)])  # env-agnostic never clashes


def test_one_account_is_refused_even_when_one_stage_uses_what_the_other_creates() -> None:
    """The singleton errors come first and name the switch; with every switch set the shared account is
    still refused, because both stages' Config rules have the same names."""
    switches = {"use_existing_config_recorder": True, "use_existing_guardduty_detector": True, "use_existing_macie_session": False}
    sandbox = dataclasses.replace(cfg.sandbox("123456789012"), audit=dataclasses.replace(cfg.sandbox().audit, **switches))
    with pytest.raises(cfg.ConfigError, match=r"^existing_macie_session: .* both would create its Macie session"):
        cfg.require_separate_singletons([sandbox, cfg.production("123456789012")])
    sandbox = dataclasses.replace(sandbox, audit=dataclasses.replace(sandbox.audit, use_existing_macie_session=True))
    with pytest.raises(cfg.ConfigError, match=r"^sandbox_account: sandbox and production share account 123456789012: their Config rules"):
        cfg.require_separate_singletons([sandbox, cfg.production("123456789012")])


def _run_app(context: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    env = {k: v for k, v in env.items() if not k.startswith("MEDIVAULT_")}
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_deploy_synth_with_placeholders_stops_before_any_stack_exists(tmp_path: Path) -> None:
    """``-c deploy=true`` (the Makefile's deploy target) fails the synth itself: no template is written,
    so ``cdk deploy`` has nothing to create - not even the Keys stack."""
    started = time.monotonic()
    result = _run_app({"deploy": "true", "environments": "sandbox", "pipeline": "false", "organization": "false"}, tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("medivault:")]
    assert [line.split(":")[2].strip() for line in lines] == [
        "sandbox_account",
        "sandbox_domain",
        "sandbox_alarm_email",
        "sandbox_security_email",
        "sandbox_tracing_sidecar_digest",
    ]
    assert all(line.startswith("medivault: invalid configuration: ") and "; allowed: " in line for line in lines)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.template.json"))
    assert time.monotonic() - started < 240


def test_one_account_refused_at_synth(tmp_path: Path) -> None:
    result = _run_app({"sandbox_account": "123456789012", "production_account": "123456789012", "environments": "sandbox"}, tmp_path)
    assert result.returncode != 0
    assert "medivault: invalid configuration: existing_config_recorder: sandbox and production share account 123456789012" in result.stderr


def test_review_stage_refuses_deploy_in_every_stack_including_the_first() -> None:
    """A plain ``cdk deploy`` of the review assembly: CloudFormation evaluates template rules when it creates
    the change set (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html),
    so the rule in every stack stops the first one (Keys) before anything is created."""
    app = new_app()
    stage = cdk.Stage(app, "Sandbox")
    stacks = [cdk.Stack(stage, name) for name in ("Keys", "Network", "Data")]
    for stack in stacks:
        cdk.CfnResource(stack, "Thing", type="AWS::SNS::Topic")
    rules = guard_placeholders(stage, cfg.sandbox())
    assert len(rules) == 3
    for stack in stacks:
        template = Template.from_stack(stack).to_json()
        [assertion] = template["Rules"]["RefusePlaceholders"]["Assertions"]
        assert assertion["Assert"] == {"Fn::Equals": ["review-placeholder", "configured"]}
        assert (
            "sandbox_account, sandbox_domain, sandbox_alarm_email, sandbox_security_email, sandbox_tracing_sidecar_digest"
            in (assertion["AssertDescription"])
        )
    message = placeholder_message(_sandbox(**REAL))
    assert message is None
    assert guard_placeholders(cdk.Stage(app, "Real"), _sandbox(**REAL)) == []


def test_deploying_with_the_pipeline_needs_both_stages_and_the_pipeline_real(tmp_path: Path) -> None:
    """The pipeline deploys sandbox and production: -c deploy=true with the pipeline refuses placeholders in
    both (production's placeholder domain included) and the placeholder connection."""
    context = {"deploy": "true", "environments": "sandbox", "organization": "false", **REAL}
    result = _run_app(context, tmp_path)
    assert result.returncode != 0
    keys = [line.split(":")[2].strip() for line in result.stderr.splitlines() if line.startswith("medivault:")]
    assert keys == [
        "production_account",
        "production_domain",
        "production_alarm_email",
        "production_security_email",
        "production_tracing_sidecar_digest",
        "tooling_account/pipeline_connection_arn",
    ]
