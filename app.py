#!/usr/bin/env python3
"""MediVault EU: the only place that picks environments and builds stages.

Context / environment (all optional):
  -c environments=sandbox,production     which stages to synthesize (default: both)
  -c sandbox_account=123456789012        or MEDIVAULT_SANDBOX_ACCOUNT
  -c production_account=123456789012     or MEDIVAULT_PRODUCTION_ACCOUNT
  -c pipeline=false                      leave out the delivery pipeline (default: included)
  -c tooling_account=123456789012        or MEDIVAULT_TOOLING_ACCOUNT (the pipeline's account)
  -c pipeline_connection_arn=arn:...     or MEDIVAULT_PIPELINE_CONNECTION_ARN
Without an account, the documented review placeholders are used (docs/assumptions.md).
The pipeline always deploys both environments, so it is built from both configs whichever
``environments`` are selected for the review stages.
"""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk

from stacks import config as cfg
from stacks.app_factory import add_pipeline, new_app, populate
from stacks.config import pipeline as pipeline_cfg


def _setting(app: cdk.App, context_key: str, env_var: str) -> str | None:
    value = app.node.try_get_context(context_key) or os.environ.get(env_var)
    return str(value) if value is not None else None


def _environment(app: cdk.App, name: str) -> cfg.EnvironmentConfig:
    account = _setting(app, f"{name}_account", f"MEDIVAULT_{name.upper()}_ACCOUNT") or cfg.PLACEHOLDER_ACCOUNTS.get(name)
    return cfg.load(name, account)


def main() -> None:
    app = new_app()
    try:
        names = str(app.node.try_get_context("environments") or ",".join(cfg.ENVIRONMENT_NAMES)).split(",")
        configs = [_environment(app, name.strip()) for name in names]
        with_pipeline = str(app.node.try_get_context("pipeline") or "true").strip().lower() not in ("false", "0", "no", "off")
        if with_pipeline:
            tooling = pipeline_cfg.tooling(
                _setting(app, "tooling_account", "MEDIVAULT_TOOLING_ACCOUNT") or pipeline_cfg.PLACEHOLDER_TOOLING_ACCOUNT,
                _setting(app, "pipeline_connection_arn", "MEDIVAULT_PIPELINE_CONNECTION_ARN"),
            )
            sandbox, production = _environment(app, "sandbox"), _environment(app, "production")
    except cfg.ConfigError as error:
        sys.exit(f"medivault: invalid configuration: {error}")
    populate(app, configs)
    if with_pipeline:
        add_pipeline(app, config=tooling, sandbox=sandbox, production=production)
    app.synth()


if __name__ == "__main__":
    main()
