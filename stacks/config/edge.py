"""Edge settings (R9, R5): who may reach CloudFront, the WAF rate limits and managed rule groups.

AWS WAF rate-based rules: the smallest ``Limit`` AWS accepts is 10 requests per evaluation window,
and the window is one of 60, 120, 300 or 600 seconds. "5 login attempts per minute" is therefore
below what WAF can enforce: the tightest WAF limit is 10 per 60 s per client IP. Anything finer
(per account, per 5 attempts) belongs to the application's login throttling / lockout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_one_of, require_range

# AWS WAF RateBasedStatement limits (API reference: Limit 10..2,000,000,000; EvaluationWindowSec).
WAF_MIN_RATE_LIMIT = 10
WAF_MAX_RATE_LIMIT = 2_000_000_000
WAF_EVALUATION_WINDOWS = (60, 120, 300, 600)

# EU member states (27) + the other EEA states (Iceland, Liechtenstein, Norway): GDPR territory.
EU_EEA_COUNTRIES: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
)  # fmt: skip
# US clinics (HIPAA).
DEFAULT_SERVED_COUNTRIES: tuple[str, ...] = (*EU_EEA_COUNTRIES, "US")

# AWS managed rule groups (vendor AWS) the web ACL may use, with their WCU capacity.
MANAGED_RULE_GROUPS: dict[str, int] = {
    "AWSManagedRulesAmazonIpReputationList": 25,
    "AWSManagedRulesAnonymousIpList": 50,
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesSQLiRuleSet": 200,
}
# CloudFront price classes: 100 = North America + Europe (+ Israel); the others add more regions.
PRICE_CLASSES = ("PriceClass_100",)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_BEHAVIOR_PATH = re.compile(r"^/[A-Za-z0-9._~/-]+/\*$")
_RULE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    # Countries (ISO 3166-1 alpha-2) allowed through the WAF geo rule and CloudFront's geo restriction.
    served_countries: tuple[str, ...] = DEFAULT_SERVED_COUNTRIES
    # URI path prefixes of the login / authentication endpoints (rate-limited per client IP). The
    # records service's sign-in routes live under /v1/auth/ (issue 17): POST /v1/auth/sign-in,
    # /v1/auth/mfa, /v1/auth/refresh and the first-sign-in enrolment (/v1/auth/new-password, /v1/auth/mfa-setup,
    # /v1/auth/mfa-setup/verify). One prefix covers them all; a new auth route goes there too.
    login_paths: tuple[str, ...] = ("/v1/auth/",)
    # Requests per client IP per window to the login paths; 10 is the lowest AWS WAF accepts.
    login_rate_limit: int = WAF_MIN_RATE_LIMIT
    login_evaluation_window_seconds: int = 60
    # Requests per client IP per window to anything (a flood brake, well above a busy clinic's use).
    global_rate_limit: int = 2000
    global_evaluation_window_seconds: int = 300
    # AWS managed rule groups, in the order they are evaluated (after the geo and rate rules).
    managed_rule_groups: tuple[str, ...] = (
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
    )
    # Rules of AWSManagedRulesCommonRuleSet switched to COUNT. SizeRestrictions_BODY blocks bodies over
    # 8 KB, which would block every medical document / imaging upload through the app (R7).
    common_rule_set_count_only: tuple[str, ...] = ("SizeRestrictions_BODY",)
    # Path patterns CloudFront may cache (static assets only; never API or PHI responses).
    static_asset_paths: tuple[str, ...] = ("/static/*", "/assets/*")
    price_class: str = "PriceClass_100"

    def validate(self) -> None:
        self._validate_countries()
        self._validate_login_paths()
        self._validate_rates()
        self._validate_rule_groups()
        self._validate_static_paths()
        require_one_of("edge.price_class", self.price_class, PRICE_CLASSES)

    def _validate_countries(self) -> None:
        countries = self.served_countries
        if not countries or len(set(countries)) != len(countries):
            raise ConfigError("edge.served_countries", f"{list(countries)!r} is empty or has duplicates", "distinct ISO 3166-1 alpha-2 codes")
        for code in countries:
            if not _COUNTRY.match(code):
                raise ConfigError("edge.served_countries", f"{code!r} is not a country code", "ISO 3166-1 alpha-2, upper case, e.g. DE")

    def _validate_login_paths(self) -> None:
        if not self.login_paths:
            raise ConfigError("edge.login_paths", "no login path", "at least one path starting with /")
        for path in self.login_paths:
            if not _PATH.match(path) or len(path) < 2:
                raise ConfigError("edge.login_paths", f"{path!r} is not a URI path prefix", "a path starting with /, e.g. /login")

    def _validate_rates(self) -> None:
        for key, limit, window in (
            ("edge.login", self.login_rate_limit, self.login_evaluation_window_seconds),
            ("edge.global", self.global_rate_limit, self.global_evaluation_window_seconds),
        ):
            if isinstance(limit, int) and not isinstance(limit, bool) and limit < WAF_MIN_RATE_LIMIT:
                raise ConfigError(
                    f"{key}_rate_limit",
                    f"{limit} is below the AWS WAF minimum of {WAF_MIN_RATE_LIMIT} requests per evaluation window",
                    f"{WAF_MIN_RATE_LIMIT} to {WAF_MAX_RATE_LIMIT}",
                )
            require_range(f"{key}_rate_limit", limit, WAF_MIN_RATE_LIMIT, WAF_MAX_RATE_LIMIT)
            require_one_of(f"{key}_evaluation_window_seconds", window, WAF_EVALUATION_WINDOWS)
        if self.global_rate_limit / self.global_evaluation_window_seconds <= self.login_rate_limit / self.login_evaluation_window_seconds:
            raise ConfigError(
                "edge.global_rate_limit",
                "the per-IP limit for everything is not above the login limit",
                "a higher rate per second than the login rate limit",
            )

    def _validate_rule_groups(self) -> None:
        groups = self.managed_rule_groups
        if len(set(groups)) != len(groups):
            raise ConfigError("edge.managed_rule_groups", f"{list(groups)!r} has duplicates", "each group once")
        for group in groups:
            require_one_of("edge.managed_rule_groups", group, MANAGED_RULE_GROUPS)
        if "AWSManagedRulesSQLiRuleSet" not in groups:
            raise ConfigError("edge.managed_rule_groups", "the SQL-injection rule group is missing", "include AWSManagedRulesSQLiRuleSet (R9)")
        for rule in self.common_rule_set_count_only:
            if not _RULE_NAME.match(rule):
                raise ConfigError("edge.common_rule_set_count_only", f"{rule!r} is not a rule name", "e.g. SizeRestrictions_BODY")

    def _validate_static_paths(self) -> None:
        for path in self.static_asset_paths:
            if not _BEHAVIOR_PATH.match(path):
                raise ConfigError("edge.static_asset_paths", f"{path!r} is not a static path pattern", "a folder pattern such as /static/*")
            if any(path.startswith(p) or p.startswith(path[:-1]) for p in self.login_paths):
                raise ConfigError("edge.static_asset_paths", f"{path!r} overlaps a login path", "static folders apart from the login paths")


PRODUCTION = EdgeConfig()
SANDBOX = EdgeConfig()
