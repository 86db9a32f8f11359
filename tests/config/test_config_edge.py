"""Invalid edge configuration fails with a message naming the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config import edge

pytestmark = pytest.mark.requirements("R9")


def _with_edge(**changes: object) -> None:
    base = cfg.production()
    dataclasses.replace(base, edge=dataclasses.replace(base.edge, **changes))


def test_defaults_serve_eu_eea_and_us_with_the_tightest_login_limit() -> None:
    config = cfg.production().edge
    assert len(edge.EU_EEA_COUNTRIES) == 30
    assert set(config.served_countries) == {*edge.EU_EEA_COUNTRIES, "US"}
    assert "GB" not in config.served_countries and "CH" not in config.served_countries
    assert (config.login_rate_limit, config.login_evaluation_window_seconds) == (10, 60)
    # The records service's sign-in routes (issue 17): POST /v1/auth/sign-in, /v1/auth/mfa, /v1/auth/refresh.
    assert config.login_paths == cfg.sandbox().edge.login_paths == ("/v1/auth/",)
    assert edge.WAF_MIN_RATE_LIMIT == 10
    assert config.price_class == "PriceClass_100"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"served_countries": ()}, r"edge.served_countries: \[\] is empty or has duplicates"),
        ({"served_countries": ("DE", "DE")}, r"edge.served_countries: .* is empty or has duplicates"),
        ({"served_countries": ("de",)}, r"edge.served_countries: 'de' is not a country code"),
        ({"login_paths": ()}, r"edge.login_paths: no login path"),
        ({"login_paths": ("login",)}, r"edge.login_paths: 'login' is not a URI path prefix"),
        # "5 per minute" is below what AWS WAF can enforce.
        ({"login_rate_limit": 5}, r"edge.login_rate_limit: 5 is below the AWS WAF minimum of 10 requests per evaluation window"),
        ({"login_evaluation_window_seconds": 30}, r"edge.login_evaluation_window_seconds: 30 is not allowed; allowed: 60, 120, 300, 600"),
        ({"global_rate_limit": 9}, r"edge.global_rate_limit: 9 is below the AWS WAF minimum"),
        ({"global_rate_limit": 3_000_000_000}, r"edge.global_rate_limit: 3000000000 is out of range"),
        ({"global_rate_limit": 10, "global_evaluation_window_seconds": 600}, r"edge.global_rate_limit: the per-IP limit for everything is not above"),
        ({"managed_rule_groups": ("AWSManagedRulesSQLiRuleSet", "AWSManagedRulesSQLiRuleSet")}, r"edge.managed_rule_groups: .* has duplicates"),
        ({"managed_rule_groups": ("AWSManagedRulesSQLiRuleSet", "MyRules")}, r"edge.managed_rule_groups: 'MyRules' is not allowed"),
        ({"managed_rule_groups": ("AWSManagedRulesCommonRuleSet",)}, r"edge.managed_rule_groups: the SQL-injection rule group is missing"),
        ({"common_rule_set_count_only": ("Size Restrictions",)}, r"edge.common_rule_set_count_only: 'Size Restrictions' is not a rule name"),
        ({"static_asset_paths": ("/static",)}, r"edge.static_asset_paths: '/static' is not a static path pattern"),
        ({"static_asset_paths": ("/v1/auth/*",)}, r"edge.static_asset_paths: '/v1/auth/\*' overlaps a login path"),
        ({"price_class": "PriceClass_All"}, r"edge.price_class: 'PriceClass_All' is not allowed; allowed: PriceClass_100"),
    ],
)
def test_invalid_edge(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _with_edge(**changes)
