#!/usr/bin/env python3
"""MediVault EU: the only place that picks environments and builds stages.

Context / environment (all optional):
  -c environments=sandbox,production     which stages to synthesize (default: both)
  -c sandbox_account=123456789012        or MEDIVAULT_SANDBOX_ACCOUNT
  -c production_account=123456789012     or MEDIVAULT_PRODUCTION_ACCOUNT
  -c organization=false                  skip the organisation stage (default: true, synthesized for review)
  -c organization_account=123456789012   or MEDIVAULT_ORGANIZATION_ACCOUNT (the management account)
  -c pipeline=false                      leave out the delivery pipeline (default: included)
  -c tooling_account=123456789012        or MEDIVAULT_TOOLING_ACCOUNT (the pipeline's account)
  -c pipeline_connection_arn=arn:...     or MEDIVAULT_PIPELINE_CONNECTION_ARN
Per stage (<stage> is sandbox or production; variables MEDIVAULT_<STAGE>_<SETTING>, e.g.
MEDIVAULT_SANDBOX_DOMAIN):
  -c <stage>_domain=app.example.org          the name users type (a Route 53 hosted zone must hold it)
  -c <stage>_hosted_zone_id=Z0123456789ABC    that hosted zone's ID
  -c <stage>_hosted_zone_name=example.org     its name (default: <stage>_domain minus its first label)
  -c <stage>_certificate_arn=arn:aws:acm:...  an ALB certificate in eu-central-1 (only used without a domain)
  -c <stage>_alarm_email=ops@example.org      operational alarms (SNS e-mail subscription)
  -c <stage>_security_email=sec@example.org   security findings
  -c <stage>_tracing_sidecar_digest=sha256:... the ADOT collector's index digest (docs/deploy.md says how to read it)
Existing security baseline (Control Tower, delegated administrators), all stages or one
(-c <stage>_existing_...; MEDIVAULT_EXISTING_CONFIG_RECORDER, MEDIVAULT_<STAGE>_EXISTING_...):
  -c existing_config_recorder=true           use the account's Config recorder and delivery channel
  -c existing_guardduty_detector=true        use the account's GuardDuty detector
  -c existing_macie_session=true             use the account's Macie session
  -c deploy=true                             (or MEDIVAULT_DEPLOY) refuse any review placeholder at synth,
                                             before any stack is created; `make deploy-sandbox` sets it
Each stage is built once (stacks.composition.compose). The pipeline deploys the app's own stages, and
it always deploys both environments: with the pipeline on, both stages are built whichever
``environments`` are selected; ``-c environments=sandbox -c pipeline=false`` builds the sandbox stage
alone (``make synth-sandbox``/``deploy-sandbox``).
Without an account, the documented review placeholders are used (docs/assumptions.md, docs/identity.md).
"""

from __future__ import annotations

import dataclasses
import os
import sys

import aws_cdk as cdk

from stacks import config as cfg
from stacks.composition import Composition, compose, new_app
from stacks.config import organization as org_cfg
from stacks.config import pipeline as pipeline_cfg
from stacks.config.domain import DomainConfig
from stacks.config.errors import require_one_of


def _setting(app: cdk.App, context_key: str, env_var: str) -> str | None:
    value = app.node.try_get_context(context_key) or os.environ.get(env_var)
    return str(value) if value is not None else None


def _given_account(app: cdk.App, name: str) -> str | None:
    """The account passed for ``name`` by context or environment variable, if any."""
    return _setting(app, f"{name}_account", f"MEDIVAULT_{name.upper()}_ACCOUNT")


# Per-stage settings: (setting, the EnvironmentConfig key its value is validated as, what is allowed).
STAGE_SETTINGS: dict[str, str] = {
    "account": "12 digits: the account the stage deploys to",
    "domain": "a lower-case DNS name inside a Route 53 hosted zone of the account, with <stage>_hosted_zone_id",
    "hosted_zone_id": "the ID of the hosted zone that holds <stage>_domain (Z...)",
    "hosted_zone_name": "the name of that hosted zone",
    "certificate_arn": "arn:aws:acm:eu-central-1:<account>:certificate/<uuid>",
    "alarm_email": "an address someone reads (name@domain.tld)",
    "security_email": "an address the security team reads (name@domain.tld)",
    "tracing_sidecar_digest": "the index digest (sha256:<64 hex>) of the ADOT collector image named by app.tracing_sidecar_image",
}
# Which setting a config key that failed validation came from.
_CONFIG_KEY_SETTING = {
    "domain.domain_name": "domain",
    "domain.hosted_zone_id": "hosted_zone_id",
    "domain.hosted_zone_name": "hosted_zone_name",
    "app.certificate_arn": "certificate_arn",
    "alarm_email": "alarm_email",
    "audit.security_email": "security_email",
    "app.tracing_sidecar_digest": "tracing_sidecar_digest",
}


def _stage_setting(app: cdk.App, name: str, setting: str) -> str | None:
    value = _setting(app, f"{name}_{setting}", f"MEDIVAULT_{name.upper()}_{setting.upper()}")
    return value.strip() if value is not None else None


def _flag(key: str, raw: str | None, default: bool) -> bool:
    value = str(default).lower() if raw is None else str(raw).strip().lower()
    require_one_of(key, value, ("true", "false"))
    return value == "true"


def _switch(app: cdk.App, key: str, default: bool = True) -> bool:
    return _flag(key, _setting(app, key, f"MEDIVAULT_{key.upper()}"), default)


def _configured(app: cdk.App, name: str, base: cfg.EnvironmentConfig) -> cfg.EnvironmentConfig:
    """``base`` with what the command line / environment sets for stage ``name`` (re-validated)."""
    domain_name = _stage_setting(app, name, "domain")
    zone_id = _stage_setting(app, name, "hosted_zone_id")
    zone_name = _stage_setting(app, name, "hosted_zone_name")
    if (zone_id or zone_name) and not domain_name:
        raise cfg.ConfigError(f"{name}_domain", "a hosted zone is given without a domain", STAGE_SETTINGS["domain"])
    changes: dict[str, object] = {}
    if domain_name:
        if not zone_id:
            raise cfg.ConfigError(f"{name}_hosted_zone_id", f"{name}_domain is set without its hosted zone", STAGE_SETTINGS["hosted_zone_id"])
        changes["domain"] = DomainConfig(domain_name=domain_name, hosted_zone_id=zone_id, hosted_zone_name=zone_name or domain_name.partition(".")[2])
    if email := _stage_setting(app, name, "alarm_email"):
        changes["alarm_email"] = email
    audit_changes: dict[str, object] = {}
    if email := _stage_setting(app, name, "security_email"):
        audit_changes["security_email"] = email
    for field, key, _what in cfg.ACCOUNT_SINGLETONS:
        raw = _setting(app, f"{name}_{key}", f"MEDIVAULT_{name.upper()}_{key.upper()}") or _setting(app, key, f"MEDIVAULT_{key.upper()}")
        if not _flag(key, raw, False):
            continue
        audit_changes[field] = True
    if audit_changes:
        changes["audit"] = dataclasses.replace(base.audit, **audit_changes)  # type: ignore[arg-type]
    app_changes: dict[str, object] = {}
    if arn := _stage_setting(app, name, "certificate_arn"):
        app_changes["certificate_arn"] = arn
    if digest := _stage_setting(app, name, "tracing_sidecar_digest"):
        app_changes["tracing_sidecar_digest"] = digest
    if app_changes:
        changes["app"] = dataclasses.replace(base.app, **app_changes)  # type: ignore[arg-type]
    try:
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    except cfg.ConfigError as error:
        setting = _CONFIG_KEY_SETTING.get(error.key)
        if setting is None:
            raise
        raise cfg.ConfigError(f"{name}_{setting}", error.problem, error.allowed) from None


def _environment(app: cdk.App, name: str) -> cfg.EnvironmentConfig:
    account = _given_account(app, name)
    try:
        base = cfg.load(name, account or cfg.PLACEHOLDER_ACCOUNTS.get(name))
    except cfg.ConfigError as error:
        if error.key == f"{name}.account":
            raise cfg.ConfigError(f"{name}_account", error.problem, STAGE_SETTINGS["account"]) from None
        raise
    return _configured(app, name, base)


def deploy_refusals(configs: list[cfg.EnvironmentConfig]) -> list[cfg.ConfigError]:
    """One error per review placeholder left in a stage that is about to be deployed."""
    return [
        cfg.ConfigError(
            key := f"{config.name}_{setting}",
            f"{problem}; a deploy needs the real value",
            f"{STAGE_SETTINGS[setting].replace('<stage>', config.name)} (-c {key}=... or MEDIVAULT_{key.upper()})",
        )
        for config in configs
        for setting, problem in config.placeholders()
    ]


def _both(app: cdk.App, configs: list[cfg.EnvironmentConfig]) -> list[cfg.EnvironmentConfig]:
    """Both environments' configs: the selected ones as built, the others from their settings."""
    built = {c.name: c for c in configs}
    return [built.get(name) or _environment(app, name) for name in cfg.ENVIRONMENT_NAMES]


def build(app: cdk.App) -> Composition:
    """The app's stages from its context and MEDIVAULT_* settings, composed by ``compose``; exits with
    one line per invalid setting. ``main`` (``cdk synth``) and tools/bench.py build the app this way."""
    try:
        names = str(app.node.try_get_context("environments") or ",".join(cfg.ENVIRONMENT_NAMES)).split(",")
        names = [name.strip() for name in names]
        for name in names:
            if names.count(name) > 1:
                raise cfg.ConfigError("environments", f"{name!r} is listed twice", "each of " + ", ".join(cfg.ENVIRONMENT_NAMES) + " at most once")
        configs = [_environment(app, name) for name in names]
        # Sandbox and production in one account: refused unless the singletons are shared (see the function).
        given = {name: _given_account(app, name) for name in cfg.ENVIRONMENT_NAMES}
        if given["sandbox"] and given["sandbox"] == given["production"]:
            cfg.require_separate_singletons(_both(app, configs))
        deploying = _switch(app, "deploy", default=False)
        organization = None
        if _switch(app, "organization"):
            organization = org_cfg.organization(
                _given_account(app, "organization") or org_cfg.PLACEHOLDER_MANAGEMENT_ACCOUNT,
                sandbox_account=_given_account(app, "sandbox"),
                production_account=_given_account(app, "production"),
            )
        pipeline = None
        if _switch(app, "pipeline"):
            pipeline = pipeline_cfg.tooling(
                _setting(app, "tooling_account", "MEDIVAULT_TOOLING_ACCOUNT") or pipeline_cfg.PLACEHOLDER_TOOLING_ACCOUNT,
                _setting(app, "pipeline_connection_arn", "MEDIVAULT_PIPELINE_CONNECTION_ARN"),
            )
            # The pipeline deploys both stages, the ones it is given: both are built.
            configs = _both(app, configs)
        if deploying:
            # Deploying the pipeline needs both its stages free of placeholders, and its own settings.
            refusals = deploy_refusals(configs)
            if pipeline is not None and pipeline.is_placeholder:
                refusals.append(
                    cfg.ConfigError(
                        "tooling_account/pipeline_connection_arn",
                        "the pipeline's account or connection is the review placeholder",
                        "-c tooling_account=... -c pipeline_connection_arn=..., or -c pipeline=false",
                    )
                )
            if refusals:
                sys.exit("\n".join(f"medivault: invalid configuration: {error}" for error in refusals))
    except cfg.ConfigError as error:
        sys.exit(f"medivault: invalid configuration: {error}")
    return compose(app, environments=configs, organization=organization, pipeline=pipeline)


def main() -> None:
    app = new_app()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
