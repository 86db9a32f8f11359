#!/usr/bin/env python3
"""MediVault EU: the only place that picks environments and builds stages.

Context / environment (all optional):
  -c environments=sandbox,production     which stages to synthesize (default: both)
  -c sandbox_account=123456789012        or MEDIVAULT_SANDBOX_ACCOUNT
  -c production_account=123456789012     or MEDIVAULT_PRODUCTION_ACCOUNT
Without an account, the documented review placeholders are used (docs/assumptions.md).
"""

from __future__ import annotations

import os
import sys

from stacks import config as cfg
from stacks.app_factory import new_app, populate


def main() -> None:
    app = new_app()
    try:
        names = str(app.node.try_get_context("environments") or ",".join(cfg.ENVIRONMENT_NAMES)).split(",")
        configs = []
        for name in (n.strip() for n in names):
            account = (
                app.node.try_get_context(f"{name}_account")
                or os.environ.get(f"MEDIVAULT_{name.upper()}_ACCOUNT")
                or cfg.PLACEHOLDER_ACCOUNTS.get(name)
            )
            configs.append(cfg.load(name, str(account) if account is not None else None))
    except cfg.ConfigError as error:
        sys.exit(f"medivault: invalid configuration: {error}")
    populate(app, configs)
    app.synth()


if __name__ == "__main__":
    main()
