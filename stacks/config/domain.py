"""The public domain. Production always has one; the sandbox may go without for a review synth only.

The production review config carries ``PLACEHOLDER`` (a name under the reserved ``.example`` TLD and a
zone ID no Route 53 zone has), so the reviewed production template is the production design: a
DNS-validated certificate, CloudFront on TLSv1.2_2021, the Route 53 aliases. It is guarded until
set: ``EnvironmentConfig.placeholders()`` names it, ``app.py -c deploy=true`` refuses it at synth and
every stack of a stage built with it carries a deploy-refusing rule (``stacks/composition.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError

_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{5,31}$")
# RFC 2606 / RFC 6761 reserved names: nothing under them can be a real, delegated hosted zone.
RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".example.com", ".example.net", ".example.org")
PLACEHOLDER_ZONE_ID = "Z0PLACEHOLDER0000000"


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

    @property
    def is_placeholder(self) -> bool:
        return self.hosted_zone_id == PLACEHOLDER_ZONE_ID or ("." + self.hosted_zone_name).endswith(RESERVED_SUFFIXES)

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


# The documented production review domain (docs/assumptions.md, docs/deploy.md); never deployable.
PLACEHOLDER = DomainConfig(domain_name="app.medivault.example", hosted_zone_id=PLACEHOLDER_ZONE_ID, hosted_zone_name="medivault.example")
