"""The one way a MediVault function reads its configuration from the environment.

A function declares its settings as a frozen dataclass whose fields name their environment
variable with ``Annotated[type, Env("NAME", parse)]``; ``Lazy(Settings)`` reads the environment on
first use (never at import: a missing variable fails the invocation with one message naming it,
and a test can import the handler with any environment) and keeps the result for the life of the
execution environment. A field with a default is optional; every other one is required.

    @dataclass(frozen=True)
    class Settings:
        topic_arn: Annotated[str, Env("TOPIC_ARN")]
        remember_days: Annotated[int, Env("REMEMBER_DAYS", positive_int)] = 90

    SETTINGS = Lazy(Settings)
    ...
    settings = SETTINGS.get()

Cross-field rules go in the dataclass's ``__post_init__`` and raise SettingsError naming the variable.
Settings never hold secret values: secrets are read from Secrets Manager by the code that needs them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SettingsError(RuntimeError):
    """The function's environment is missing a variable or holds a malformed one (the message names it)."""


@dataclasses.dataclass(frozen=True)
class Env:
    """Marks a settings field as read from environment variable ``name``, converted by ``parse``
    (a callable that raises ValueError with what is allowed; default: by the field's type)."""

    name: str
    parse: Callable[[str], Any] | None = None


def _function_name(cls: type) -> str:
    return cls.__module__.split(".")[0]


def _by_type(kind: Any) -> Callable[[str], Any]:
    if kind is int:
        return positive_int
    if kind is str:
        return str
    raise TypeError(f"no default parser for {kind!r}: give Env(..., parse=...)")


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """``cls`` built from ``environ`` (default: the process environment, read now)."""
    source: Mapping[str, str] = os.environ if environ is None else environ
    function = _function_name(cls)
    hints = typing.get_type_hints(cls, include_extras=True)
    values: dict[str, Any] = {}
    missing: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        hint = hints[field.name]
        spec = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Env)), None)
        if spec is None:
            continue
        raw = source.get(spec.name, "").strip()
        if not raw:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                missing.append(spec.name)
            continue
        parse = spec.parse or _by_type(typing.get_args(hint)[0])
        try:
            values[field.name] = parse(raw)
        except ValueError as problem:
            raise SettingsError(f"{function}: environment variable {spec.name}={raw!r} {problem}") from None
    if missing:
        raise SettingsError(f"{function}: environment variable{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing or empty")
    try:
        return cls(**values)
    except SettingsError:
        raise
    except ValueError as problem:
        raise SettingsError(f"{function}: {problem}") from None


class Lazy(Generic[T]):
    """The settings of one function, read from the environment on first ``get()`` and then kept."""

    def __init__(self, cls: type[T]) -> None:
        self.cls = cls
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = load(self.cls)
        return self._value

    def clear(self) -> None:
        """Forget the loaded value (tests that change the environment)."""
        self._value = None


# --- parsers: each raises ValueError saying what is allowed -----------------------------------------


def positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("is not a positive integer")
    return int(raw)


def hours(maximum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("is not a number of hours") from None
        if not 0 < value <= maximum:
            raise ValueError(f"is outside 0 < hours <= {maximum:g}")
        return value

    return parse


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"is not one of {', '.join(choices)}")
        return raw

    return parse


def arn(service: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not raw.startswith("arn:") or f":{service}:" not in raw:
            raise ValueError(f"is not a {service} ARN")
        return raw

    return parse


def arn_list(raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("is not a JSON list") from None
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and a.startswith("arn:") for a in value):
        raise ValueError("must be a non-empty JSON list of ARNs")
    return tuple(dict.fromkeys(value))


def name_set(raw: str) -> frozenset[str]:
    """A comma-separated list of names."""
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def key_value(raw: str) -> tuple[str, str]:
    key, _, value = raw.partition("=")
    if not key or not value:
        raise ValueError("must be key=value")
    return key, value


def flag(raw: str) -> bool:
    if raw not in ("true", "false"):
        raise ValueError("is not one of true, false")
    return raw == "true"
