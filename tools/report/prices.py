"""``make prices``: refresh the committed price table from the AWS Price List API.

``python -m tools.report.prices [prices.json]`` reads each entry's ``query`` (service code,
usage type, scale to the table's unit, optional extra filters), asks the Price List API
(``pricing`` client, us-east-1 endpoint, ``GetProducts`` with TERM_MATCH filters per item) for the
on-demand price, and writes the entry back with ``method: price-list-api`` and today's date. An
entry the API does not answer unambiguously keeps its hand value and is listed. Synth and the
report never call this: they read the committed JSON only, offline.

Needs AWS credentials (any principal allowed ``pricing:GetProducts``); without them it stops
with a one-line error and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.report.cost import PRICES_FILE

# The Price List API is served from a few endpoints only; us-east-1 answers for every region.
PRICING_REGION = "us-east-1"


class PricesError(Exception):
    """A refresh that cannot run (no credentials, API refused)."""


@dataclass(frozen=True)
class Outcome:
    key: str
    old: float
    new: float | None  # None: kept the old value
    why: str


def first_paid_usd(product: dict[str, Any]) -> float | None:
    """The first paid tier's USD price of one Price List product (OnDemand terms): the price
    dimension with the lowest beginRange among those with a price above zero."""
    dimensions = [d for term in product.get("terms", {}).get("OnDemand", {}).values() for d in term.get("priceDimensions", {}).values()]
    paid = [
        (float(d.get("beginRange", "0")), float(d["pricePerUnit"]["USD"])) for d in dimensions if float(d.get("pricePerUnit", {}).get("USD", "0")) > 0
    ]
    return min(paid)[1] if paid else None


def fetch(client: Any, service: str, usagetype: str, filters: dict[str, str] | None = None) -> tuple[float | None, str]:
    """(price per Price List unit, explanation). None when no product or several prices match."""
    terms = [{"Type": "TERM_MATCH", "Field": "usagetype", "Value": usagetype}]
    terms += [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in sorted((filters or {}).items())]
    found: set[float] = set()
    token = None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": service, "Filters": terms, "FormatVersion": "aws_v1", "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        response = client.get_products(**kwargs)
        for item in response.get("PriceList", []):
            price = first_paid_usd(json.loads(item) if isinstance(item, str) else item)
            if price is not None:
                found.add(price)
        token = response.get("NextToken")
        if not token:
            break
    if not found:
        return None, f"no priced product for {service} usagetype {usagetype}"
    if len(found) > 1:
        return None, f"{len(found)} different prices for {service} usagetype {usagetype}: {sorted(found)}; add a filter to the query"
    return found.pop(), f"{service} {usagetype}"


def refresh(table: dict[str, Any], client: Any, today: dt.date) -> tuple[dict[str, Any], list[Outcome]]:
    """A copy of ``table`` with every queryable entry refreshed, and what happened to each."""
    result = json.loads(json.dumps(table))
    outcomes: list[Outcome] = []
    date = today.isoformat()
    for key, entry in result["prices"].items():
        query = entry.get("query")
        if not query:
            outcomes.append(Outcome(key, float(entry.get("usd", 0)), None, "no query: hand value kept"))
            continue
        scale = float(query.get("scale", 1))
        if "usd_by_node_type" in entry:
            changed = False
            for node_type, old in entry["usd_by_node_type"].items():
                price, why = fetch(client, query["service"], query["usagetype"].format(node_type=node_type), query.get("filters"))
                name = f"{key}[{node_type}]"
                if price is None:
                    outcomes.append(Outcome(name, float(old), None, why))
                    continue
                entry["usd_by_node_type"][node_type] = round(price * scale, 8)
                outcomes.append(Outcome(name, float(old), entry["usd_by_node_type"][node_type], why))
                changed = True
            if changed:
                entry["as_of"], entry["method"] = date, "price-list-api"
            continue
        price, why = fetch(client, query["service"], query["usagetype"], query.get("filters"))
        if price is None:
            outcomes.append(Outcome(key, float(entry["usd"]), None, why))
            continue
        old = float(entry["usd"])
        entry["usd"] = round(price * scale, 8)
        entry["as_of"], entry["method"] = date, "price-list-api"
        entry.pop("note", None)  # a note explains a hand value; the API's answer needs none
        outcomes.append(Outcome(key, old, entry["usd"], why))
    # The table is only as current as its oldest entry.
    result["as_of"] = min(str(e.get("as_of", result["as_of"])) for e in result["prices"].values())
    return result, outcomes


def dump(table: dict[str, Any]) -> str:
    """The table as committed: top-level keys, then one line per price (reviewable diffs)."""
    lines = ["{"]
    for key, value in table.items():
        if key == "prices":
            continue
        if isinstance(value, list):
            body = ",\n".join(f"    {json.dumps(v)}" for v in value)
            lines.append(f"  {json.dumps(key)}: [\n{body}\n  ],")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    entries = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in table["prices"].items())
    lines.append(f'  "prices": {{\n{entries}\n  }}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def pricing_client() -> Any:
    import boto3
    from botocore.exceptions import NoCredentialsError

    session = boto3.Session()
    try:
        credentials = session.get_credentials()
    except NoCredentialsError:  # pragma: no cover - botocore raises for some broken profiles
        credentials = None
    if credentials is None:
        raise PricesError(
            "make prices: no AWS credentials found (environment, profile, SSO or instance role); "
            "log in with any principal allowed pricing:GetProducts and run it again. Nothing was changed."
        )
    return session.client("pricing", region_name=PRICING_REGION)


def main(argv: list[str], *, client: Any = None, today: dt.date | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    path = Path(argv[1]) if len(argv) > 1 else PRICES_FILE
    table = json.loads(path.read_text())
    try:
        client = client or pricing_client()
        refreshed, outcomes = refresh(table, client, today or dt.datetime.now(dt.UTC).date())
    except PricesError as error:
        print(error, file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"make prices: the Price List API refused: {error}. Nothing was changed.", file=sys.stderr)
        return 2
    path.write_text(dump(refreshed))
    for o in outcomes:
        if o.new is None:
            print(f"kept     {o.key}: {o.old:g} ({o.why})")
        else:
            print(f"{'changed' if o.new != o.old else 'same':8} {o.key}: {o.old:g} -> {o.new:g} ({o.why})")
    kept = sum(1 for o in outcomes if o.new is None)
    print(f"{path}: {len(outcomes) - kept} price(s) from the Price List API, {kept} kept by hand; as_of {refreshed['as_of']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
