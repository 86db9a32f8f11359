"""A small, strict evaluator of IAM policy documents, for asserting what SCPs and permission sets
deny or allow for a given request (action, resource, context) instead of only their shape.

It implements what MediVault's policies use: Action/NotAction, Resource/NotResource with IAM
wildcards (``*`` any characters, ``?`` one), and the condition operators StringEquals,
StringNotEquals, StringLike, ArnLike, ArnNotLike, ForAnyValue:StringLike, ForAnyValue:StringEquals,
Null, Bool and NumericLessThan (the TLS-only statements of bucket policies), with IAM's rule
that a negated operator matches when the context key is absent. Any other operator raises, so a
policy using something new cannot silently evaluate as "no match".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Context = Mapping[str, str | Sequence[str]]


def _wildcard(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    regex = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + "$"
    return re.match(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, (str, int, float, bool)) else list(value)


def _lookup(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():  # condition keys are case-insensitive
            return _as_list(value)
    return None


def _condition_matches(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    for operator, entries in condition.items():
        for key, expected in entries.items():
            wanted = _as_list(expected)
            actual = _lookup(context, key)
            if operator in _RESOURCE_POLICY_OPERATORS or operator.endswith("IfExists"):
                if not _resource_policy_operator(operator, wanted, actual):
                    return False
                continue
            if operator == "Null":
                present = actual is not None
                if (wanted[0] == "false") != present:
                    return False
                continue
            if operator in ("StringNotEquals", "ArnNotLike"):
                if actual is None:
                    continue
                if operator == "StringNotEquals":
                    hit = any(a == w for a in actual for w in wanted)
                else:
                    hit = any(_wildcard(w, a) for a in actual for w in wanted)
                if hit:
                    return False
                continue
            if actual is None:
                return False
            if operator in ("StringEquals", "ForAnyValue:StringEquals"):
                ok = any(a == w for a in actual for w in wanted)
            elif operator in ("StringLike", "ArnLike", "ForAnyValue:StringLike"):
                ok = any(_wildcard(w, a) for a in actual for w in wanted)
            elif operator == "Bool":
                ok = any(a.lower() == str(w).lower() for a in actual for w in wanted)
            elif operator == "NumericLessThan":
                ok = any(float(a) < float(w) for a in actual for w in wanted)
            else:
                raise NotImplementedError(f"condition operator {operator} is not evaluated by this helper")
            if not ok:
                return False
    return True


def statement_matches(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    if "Action" in statement:
        if not any(_wildcard(p, action, case_sensitive=False) for p in _as_list(statement["Action"])):
            return False
    elif any(_wildcard(p, action, case_sensitive=False) for p in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_wildcard(p, resource) for p in _as_list(statement["Resource"])):
            return False
    elif any(_wildcard(p, resource) for p in _as_list(statement["NotResource"])):
        return False
    return _condition_matches(statement.get("Condition", {}), context)


def evaluate(policy: Mapping[str, Any], action: str, resource: str = "*", context: Context | None = None) -> str:
    """``"Deny"`` (an explicit deny matches), ``"Allow"`` (an allow matches, no deny) or ``"Implicit"``."""
    matching = [s["Effect"] for s in policy["Statement"] if statement_matches(s, action, resource, context or {})]
    if "Deny" in matching:
        return "Deny"
    return "Allow" if "Allow" in matching else "Implicit"


def denying_sids(policy: Mapping[str, Any], action: str, resource: str = "*", context: Context | None = None) -> set[str]:
    return {s["Sid"] for s in policy["Statement"] if s["Effect"] == "Deny" and statement_matches(s, action, resource, context or {})}


# ---- resource policies (key, bucket, topic, queue policies): principals and their operators ----
# Added for the deploy rehearsal (tests/deploy/): Bool, ArnEquals, NumericLessThan and the
# ``...IfExists`` form (matches when the key is absent), and Principal matching.
_RESOURCE_POLICY_OPERATORS = ("Bool", "ArnEquals", "ArnNotEquals", "NumericLessThan")


def _resource_policy_operator(operator: str, wanted: list[str], actual: list[str] | None) -> bool:
    if operator.endswith("IfExists"):
        if actual is None:
            return True
        operator = operator.removesuffix("IfExists")
        return _condition_matches({operator: {"k": wanted}}, {"k": actual})
    if operator == "ArnNotEquals":
        return actual is None or not any(a == w for a in actual for w in wanted)
    if actual is None:
        return False
    if operator == "Bool":
        return any(str(a).lower() == str(w).lower() for a in actual for w in wanted)
    if operator == "ArnEquals":
        return any(a == w for a in actual for w in wanted)
    if operator == "NumericLessThan":
        return any(float(a) < float(w) for a in actual for w in wanted)
    raise NotImplementedError(operator)


Principal = Mapping[str, str]  # {"AWS": "arn:aws:iam::111122223333:role/x"} or {"Service": "logs.amazonaws.com"}


def principal_matches(statement: Mapping[str, Any], principal: Principal) -> bool:
    """IAM's Principal element: ``*`` / {"AWS": "*"} match everyone; an account (``123456789012`` or
    ``arn:...:root``) matches every principal of that account; otherwise the exact ARN or service."""
    if "Principal" not in statement:
        return True  # identity policy: the principal is the one it is attached to
    given = statement["Principal"]
    if given == "*":
        return True
    for kind, values in given.items():
        for value in _as_list(values):
            if kind == "AWS" and value == "*":
                return True
            if kind != next(iter(principal)):
                continue
            requested = next(iter(principal.values()))
            if kind == "Service" and value == requested:
                return True
            if kind == "AWS":
                account = value if re.fullmatch(r"\d{12}", value) else (value.split(":")[4] if value.endswith(":root") else None)
                if account is not None and requested.split(":")[4] == account:
                    return True
                if value == requested:
                    return True
    return False


def evaluate_resource_policy(
    policy: Mapping[str, Any], principal: Principal, action: str, resource: str = "*", context: Context | None = None
) -> str:
    """Like ``evaluate``, for a policy with Principal elements, for a request by ``principal``."""
    matching = [s["Effect"] for s in policy["Statement"] if principal_matches(s, principal) and statement_matches(s, action, resource, context or {})]
    if "Deny" in matching:
        return "Deny"
    return "Allow" if "Allow" in matching else "Implicit"
