#!/usr/bin/env python3
"""MediVault EU: the only place that picks environments and builds stages.

Context / environment (all optional):
  -c environments=sandbox,production     which stages to synthesize (default: both)
  -c sandbox_account=123456789012        or MEDIVAULT_SANDBOX_ACCOUNT
  -c production_account=123456789012     or MEDIVAULT_PRODUCTION_ACCOUNT
  -c organization=false                  skip the organisation stage (default: true, synthesized for review)
  -c organization_account=123456789012   or MEDIVAULT_ORGANIZATION_ACCOUNT (the management account)
Without an account, the documented review placeholders are used (docs/assumptions.md, docs/identity.md).
"""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk

from stacks import config as cfg
from stacks.app_factory import new_app, populate, populate_organization
from stacks.config import organization as org_cfg
from stacks.config.errors import require_one_of


def _given_account(app: cdk.App, name: str) -> str | None:
    """The account passed for ``name`` by context or environment variable, if any."""
    account = app.node.try_get_context(f"{name}_account") or os.environ.get(f"MEDIVAULT_{name.upper()}_ACCOUNT")
    return str(account) if account is not None else None


def main() -> None:
    app = new_app()
    try:
        names = str(app.node.try_get_context("environments") or ",".join(cfg.ENVIRONMENT_NAMES)).split(",")
        configs = []
        for name in (n.strip() for n in names):
            configs.append(cfg.load(name, _given_account(app, name) or cfg.PLACEHOLDER_ACCOUNTS.get(name)))
        flag = app.node.try_get_context("organization")
        include_organization = "true" if flag is None else str(flag).strip().lower()
        require_one_of("organization", include_organization, ("true", "false"))
        organization = None
        if include_organization == "true":
            organization = org_cfg.organization(
                _given_account(app, "organization") or org_cfg.PLACEHOLDER_MANAGEMENT_ACCOUNT,
                sandbox_account=_given_account(app, "sandbox"),
                production_account=_given_account(app, "production"),
            )
    except cfg.ConfigError as error:
        sys.exit(f"medivault: invalid configuration: {error}")
    populate(app, configs)
    if organization is not None:
        populate_organization(app, organization)
    app.synth()


if __name__ == "__main__":
    main()
