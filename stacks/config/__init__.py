"""Typed, frozen per-environment configuration. Each section lives in its own module."""

from stacks.config.environment import (
    ACCOUNT_SINGLETONS,
    ENVIRONMENT_NAMES,
    PLACEHOLDER_ACCOUNTS,
    EnvironmentConfig,
    load,
    production,
    require_separate_singletons,
    sandbox,
)
from stacks.config.errors import ConfigError

__all__ = [
    "ACCOUNT_SINGLETONS",
    "ENVIRONMENT_NAMES",
    "PLACEHOLDER_ACCOUNTS",
    "ConfigError",
    "EnvironmentConfig",
    "load",
    "production",
    "require_separate_singletons",
    "sandbox",
]
