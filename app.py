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
  -c existing_config_recorder=true       use the account's Config recorder + delivery channel (default: false)
  -c existing_guardduty_detector=true    use the account's GuardDuty detectors (default: false)
  -c existing_macie_session=true         use the account's Macie session (default: false)
The pipeline always deploys both environments, so it is built from both configs whichever
``environments`` are selected for the review stages.
Without an account, the documented review placeholders are used (docs/assumptions.md, docs/identity.md).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import aws_cdk as cdk

from stacks import config as cfg
from stacks.app_factory import add_pipeline, new_app, populate, populate_organization
from stacks.config import audit as audit_cfg
from stacks.config import organization as org_cfg
from stacks.config import pipeline as pipeline_cfg
from stacks.config.errors import require_one_of


def _setting(app: cdk.App, context_key: str, env_var: str) -> str | None:
    value = app.node.try_get_context(context_key) or os.environ.get(env_var)
    return str(value) if value is not None else None


def _given_account(app: cdk.App, name: str) -> str | None:
    """The account passed for ``name`` by context or environment variable, if any."""
    return _setting(app, f"{name}_account", f"MEDIVAULT_{name.upper()}_ACCOUNT")


def _environment(app: cdk.App, name: str) -> cfg.EnvironmentConfig:
    config = cfg.load(name, _given_account(app, name) or cfg.PLACEHOLDER_ACCOUNTS.get(name))
    # Existing security baseline (docs/audit.md): each switch given on the command line overrides the config.
    baseline: dict[str, Any] = {
        field: audit_cfg.parse_switch(key, app.node.try_get_context(key))
        for key, field in audit_cfg.BASELINE_CONTEXT_KEYS.items()
        if app.node.try_get_context(key) is not None
    }
    return dataclasses.replace(config, audit=dataclasses.replace(config.audit, **baseline)) if baseline else config


def _switch(app: cdk.App, key: str) -> bool:
    flag = app.node.try_get_context(key)
    value = "true" if flag is None else str(flag).strip().lower()
    require_one_of(key, value, ("true", "false"))
    return value == "true"


def main() -> None:
    app = new_app()
    try:
        names = str(app.node.try_get_context("environments") or ",".join(cfg.ENVIRONMENT_NAMES)).split(",")
        names = [name.strip() for name in names]
        for name in names:
            if names.count(name) > 1:
                raise cfg.ConfigError("environments", f"{name!r} is listed twice", "each of " + ", ".join(cfg.ENVIRONMENT_NAMES) + " at most once")
        configs = [_environment(app, name) for name in names]
        organization = None
        if _switch(app, "organization"):
            organization = org_cfg.organization(
                _given_account(app, "organization") or org_cfg.PLACEHOLDER_MANAGEMENT_ACCOUNT,
                sandbox_account=_given_account(app, "sandbox"),
                production_account=_given_account(app, "production"),
            )
        pipeline = None
        if _switch(app, "pipeline"):
            pipeline = (
                pipeline_cfg.tooling(
                    _setting(app, "tooling_account", "MEDIVAULT_TOOLING_ACCOUNT") or pipeline_cfg.PLACEHOLDER_TOOLING_ACCOUNT,
                    _setting(app, "pipeline_connection_arn", "MEDIVAULT_PIPELINE_CONNECTION_ARN"),
                ),
                _environment(app, "sandbox"),
                _environment(app, "production"),
            )
    except cfg.ConfigError as error:
        sys.exit(f"medivault: invalid configuration: {error}")
    populate(app, configs)
    if organization is not None:
        populate_organization(app, organization)
    if pipeline is not None:
        tooling, sandbox, production = pipeline
        add_pipeline(app, config=tooling, sandbox=sandbox, production=production)
    app.synth()


if __name__ == "__main__":
    main()
