"""``make prices`` (tools/report/prices.py): the Price List API refresh, offline.

moto does not implement the Price List API (``pricing``), so the calls are answered by
``botocore.stub.Stubber``: no credentials, no network. The response shape (``PriceList`` of JSON
strings with ``terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD`` and ``beginRange``) and the
filter form (``TERM_MATCH`` on a field such as ``usagetype``) follow
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html and
https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-price-list-query-api.html
(the API is served from us-east-1, among a few endpoints).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools.report import cost, prices

TODAY = dt.date(2026, 12, 4)


def _product(*tiers: tuple[str, str]) -> str:
    """One Price List product (JSON string) with OnDemand price dimensions (beginRange, USD)."""
    dimensions = {
        f"SKU.TERM.{i}": {"beginRange": begin, "endRange": "Inf", "unit": "Hrs", "pricePerUnit": {"USD": usd}} for i, (begin, usd) in enumerate(tiers)
    }
    return json.dumps({"product": {"sku": "SKU"}, "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": dimensions}}}})


def _filters(usagetype: str, **extra: str) -> list[dict[str, str]]:
    terms = [{"Type": "TERM_MATCH", "Field": "usagetype", "Value": usagetype}]
    return terms + [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in sorted(extra.items())]


def _expect(
    stubber: Stubber, service: str, usagetype: str, products: list[str], *, next_token: str | None = None, token: str | None = None, **extra: str
) -> None:
    params: dict[str, Any] = {"ServiceCode": service, "Filters": _filters(usagetype, **extra), "FormatVersion": "aws_v1", "MaxResults": 100}
    if token:
        params["NextToken"] = token
    response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": products}
    if next_token:
        response["NextToken"] = next_token
    stubber.add_response("get_products", response, params)


def _table() -> dict[str, Any]:
    return {
        "region": "eu-central-1",
        "currency": "USD",
        "as_of": "2026-11-23",
        "hours_per_month": 730,
        "notes": ["test"],
        "prices": {
            "nat_gateway_hour": {
                "usd": 0.052,
                "unit": "NAT gateway-hour",
                "source": "https://aws.amazon.com/vpc/pricing/",
                "as_of": "2026-11-23",
                "method": "hand",
                "query": {"service": "AmazonEC2", "usagetype": "EUC1-NatGateway-Hours", "scale": 1},
            },
            "kms_requests_10k": {
                "usd": 0.03,
                "unit": "10,000 API requests",
                "source": "https://aws.amazon.com/kms/pricing/",
                "as_of": "2026-11-23",
                "method": "hand",
                "note": "a hand note",
                "query": {"service": "awskms", "usagetype": "EUC1-KMS-Requests", "scale": 10000},
            },
            "elasticache_node_hour": {
                "usd_by_node_type": {"cache.t4g.micro": 0.018, "cache.r7g.large": 0.243},
                "valkey_discount": 0.2,
                "unit": "node-hour",
                "source": "https://aws.amazon.com/elasticache/pricing/",
                "as_of": "2026-11-23",
                "method": "hand",
                "query": {"service": "AmazonElastiCache", "usagetype": "EUC1-NodeUsage:{node_type}", "scale": 1, "filters": {"cacheEngine": "Redis"}},
            },
            "guardduty_rds_acu_hour": {
                "usd": 0.0024,
                "unit": "ACU-hour",
                "source": "https://aws.amazon.com/guardduty/pricing/",
                "as_of": "2026-12-01",
                "method": "hand",
            },
        },
    }


@pytest.fixture
def client() -> Any:
    return boto3.client("pricing", region_name=prices.PRICING_REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def test_refresh_writes_each_queried_price_with_its_date_and_method(client: Any) -> None:
    stubber = Stubber(client)
    _expect(stubber, "AmazonEC2", "EUC1-NatGateway-Hours", [_product(("0", "0.0520000000"))])
    # Tiered: the first paid tier counts (a free first tier is skipped); scaled to 10,000 requests.
    _expect(stubber, "awskms", "EUC1-KMS-Requests", [_product(("0", "0.0000000000"), ("20000", "0.0000031000"), ("1000000000", "0.0000020000"))])
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.t4g.micro", [_product(("0", "0.0190000000"))], cacheEngine="Redis")
    # Paginated: the second page holds the product.
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.r7g.large", [], next_token="page2", cacheEngine="Redis")
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.r7g.large", [_product(("0", "0.2500000000"))], token="page2", cacheEngine="Redis")
    with stubber:
        table, outcomes = prices.refresh(_table(), client, TODAY)
        stubber.assert_no_pending_responses()
    p = table["prices"]
    assert (p["nat_gateway_hour"]["usd"], p["nat_gateway_hour"]["as_of"], p["nat_gateway_hour"]["method"]) == (0.052, "2026-12-04", "price-list-api")
    assert p["kms_requests_10k"]["usd"] == pytest.approx(0.031)
    assert "note" not in p["kms_requests_10k"]  # the hand note no longer applies
    assert p["elasticache_node_hour"]["usd_by_node_type"] == {"cache.t4g.micro": 0.019, "cache.r7g.large": 0.25}
    assert p["elasticache_node_hour"]["valkey_discount"] == 0.2  # not in the Price List query: kept
    assert (p["guardduty_rds_acu_hour"]["method"], p["guardduty_rds_acu_hour"]["as_of"]) == ("hand", "2026-12-01")
    assert table["as_of"] == "2026-12-01"  # the oldest entry
    assert {o.key: o.new for o in outcomes}["guardduty_rds_acu_hour"] is None


def test_an_unanswered_or_ambiguous_query_keeps_the_hand_value(client: Any) -> None:
    stubber = Stubber(client)
    _expect(stubber, "AmazonEC2", "EUC1-NatGateway-Hours", [])
    _expect(stubber, "awskms", "EUC1-KMS-Requests", [_product(("0", "0.03")), _product(("0", "0.04"))])
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.t4g.micro", [_product(("0", "0"))], cacheEngine="Redis")
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.r7g.large", [], cacheEngine="Redis")
    with stubber:
        table, outcomes = prices.refresh(_table(), client, TODAY)
    assert table["prices"] == _table()["prices"]
    why = {o.key: o.why for o in outcomes}
    assert "no priced product for AmazonEC2 usagetype EUC1-NatGateway-Hours" in why["nat_gateway_hour"]
    assert "2 different prices" in why["kms_requests_10k"]
    assert all(o.new is None for o in outcomes)


def test_main_writes_the_committed_format_and_the_cost_model_reads_it(client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prices.json"
    path.write_text(prices.dump(_table()))
    stubber = Stubber(client)
    _expect(stubber, "AmazonEC2", "EUC1-NatGateway-Hours", [_product(("0", "0.055"))])
    _expect(stubber, "awskms", "EUC1-KMS-Requests", [_product(("0", "0.000003"))])
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.t4g.micro", [_product(("0", "0.018"))], cacheEngine="Redis")
    _expect(stubber, "AmazonElastiCache", "EUC1-NodeUsage:cache.r7g.large", [_product(("0", "0.243"))], cacheEngine="Redis")
    with stubber:
        assert prices.main(["prices", str(path)], client=client, today=TODAY) == 0
    written = cost.load_prices(path)
    assert written["prices"]["nat_gateway_hour"]["usd"] == 0.055
    assert path.read_text() == prices.dump(written)
    out = capsys.readouterr().out
    assert "changed  nat_gateway_hour: 0.052 -> 0.055" in out
    assert "4 price(s) from the Price List API, 1 kept by hand" in out


def test_the_committed_table_round_trips_and_every_query_names_a_region_usage_type() -> None:
    text = cost.PRICES_FILE.read_text()
    table = json.loads(text)
    assert prices.dump(table) == text  # committed in the format the refresh writes
    for key, entry in table["prices"].items():
        query = entry.get("query")
        if query:
            assert query["usagetype"].startswith(("EUC1-", "EU-")), key
            assert float(query["scale"]) >= 1, key


def test_no_credentials_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    path = tmp_path / "prices.json"
    before = prices.dump(_table())
    path.write_text(before)
    assert prices.main(["prices", str(path)], today=TODAY) == 2
    err = capsys.readouterr().err
    assert err.startswith("make prices: no AWS credentials found")
    assert "Nothing was changed." in err
    assert path.read_text() == before


def test_an_api_refusal_is_a_clear_error_and_changes_nothing(client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prices.json"
    before = prices.dump(_table())
    path.write_text(before)
    stubber = Stubber(client)
    stubber.add_client_error("get_products", service_error_code="AccessDeniedException", service_message="not allowed", http_status_code=400)
    with stubber:
        assert prices.main(["prices", str(path)], client=client, today=TODAY) == 2
    assert "make prices: the Price List API refused" in capsys.readouterr().err
    assert path.read_text() == before
