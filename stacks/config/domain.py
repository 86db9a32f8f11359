"""The optional public domain. Without one, the review synth still works (see docs/assumptions.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError

_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{5,31}$")


@dataclass(frozen=True, kw_only=True)
class DomainConfig:
    # The name users type, e.g. app.medivault.example; must sit inside hosted_zone_name.
    domain_name: str
    hosted_zone_id: str
    hosted_zone_name: str

    @property
    def origin_domain_name(self) -> str:
        """The name CloudFront connects to: a Route 53 alias of the ALB, covered by the ALB's certificate."""
        return f"origin.{self.domain_name}"

    def validate(self) -> None:
        for key, value in (("domain.domain_name", self.domain_name), ("domain.hosted_zone_name", self.hosted_zone_name)):
            if not _DOMAIN.match(value):
                raise ConfigError(key, f"{value!r} is not a lower-case DNS name", "e.g. app.medivault.example")
        if not _ZONE_ID.match(self.hosted_zone_id):
            raise ConfigError(
                "domain.hosted_zone_id", f"{self.hosted_zone_id!r} is not a Route 53 zone ID", "Z followed by upper-case letters and digits"
            )
        if not (self.domain_name == self.hosted_zone_name or self.domain_name.endswith("." + self.hosted_zone_name)):
            raise ConfigError(
                "domain.domain_name", f"{self.domain_name} is outside {self.hosted_zone_name}", f"a name ending in .{self.hosted_zone_name}"
            )
