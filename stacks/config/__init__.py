"""Typed, frozen per-environment configuration. Each section lives in its own module."""

from stacks.config.environment import (
    ENVIRONMENT_NAMES,
    PLACEHOLDER_ACCOUNTS,
    EnvironmentConfig,
    load,
    production,
    sandbox,
)
from stacks.config.errors import ConfigError

__all__ = [
    "ENVIRONMENT_NAMES",
    "PLACEHOLDER_ACCOUNTS",
    "ConfigError",
    "EnvironmentConfig",
    "load",
    "production",
    "sandbox",
]
