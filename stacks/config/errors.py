"""The one error type that invalid configuration raises.

``app.py`` turns it into a single line on stderr and a non-zero exit, so a
reviewer sees which key is wrong and what is allowed, not a jsii traceback.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable


class ConfigError(ValueError):
    """Invalid MediVault configuration: ``key: problem; allowed: ...``."""

    def __init__(self, key: str, problem: str, allowed: str) -> None:
        self.key = key
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{key}: {problem}; allowed: {allowed}")


def require_one_of(key: str, value: object, allowed: Iterable[object]) -> None:
    options = list(allowed)
    if value not in options:
        raise ConfigError(key, f"{value!r} is not allowed", ", ".join(str(o) for o in options))


def require_range(key: str, value: int | float, low: int | float, high: int | float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(key, f"{value!r} is out of range", f"a number from {low} to {high}")


def require_account(key: str, value: str | None) -> None:
    if value is None:
        return
    if not (isinstance(value, str) and len(value) == 12 and value.isdigit()):
        raise ConfigError(key, f"{value!r} is not an AWS account ID", "12 digits, or unset for env-agnostic")


RFC1918 = (ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/16"))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def require_email(key: str, value: str) -> None:
    if not _EMAIL.match(value):
        raise ConfigError(key, f"{value!r} is not an e-mail address", "name@domain.tld")


def require_private_cidr(key: str, value: str, min_prefix: int, max_prefix: int) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError):
        raise ConfigError(key, f"{value!r} is not a valid IPv4 CIDR", "e.g. 10.20.0.0/16") from None
    if not any(network.subnet_of(block) for block in RFC1918):
        raise ConfigError(key, f"{value} is not a private range", "RFC 1918 ranges (10/8, 172.16/12, 192.168/16)")
    if not min_prefix <= network.prefixlen <= max_prefix:
        raise ConfigError(key, f"prefix /{network.prefixlen} is out of range", f"/{min_prefix} to /{max_prefix}")
    return network


# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def require_log_retention(key: str, value: int) -> None:
    if value not in LOG_RETENTION_DAYS:
        raise ConfigError(key, f"{value!r} days is not a CloudWatch Logs retention", ", ".join(map(str, LOG_RETENTION_DAYS)))
