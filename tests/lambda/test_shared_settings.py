"""lambda/mv_shared/settings.py: one loader for every function's settings."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from typing import Annotated

import pytest

from mv_shared.settings import Env, Lazy, SettingsError, arn_list, flag, hours, key_value, load, name_set, one_of, positive_int


@dataclass(frozen=True)
class Example:
    topic: Annotated[str, Env("EXAMPLE_TOPIC")]
    days: Annotated[int, Env("EXAMPLE_DAYS", positive_int)] = 90
    mode: Annotated[str, Env("EXAMPLE_MODE", one_of("a", "b"))] = "a"


def test_required_and_optional_variables() -> None:
    assert load(Example, {"EXAMPLE_TOPIC": " t "}) == Example(topic="t", days=90, mode="a")
    assert load(Example, {"EXAMPLE_TOPIC": "t", "EXAMPLE_DAYS": "7", "EXAMPLE_MODE": "b"}) == Example(topic="t", days=7, mode="b")
    # An empty value counts as missing (a template that resolved to "" is a bug, not a value).
    with pytest.raises(SettingsError, match=r"^tests: environment variable EXAMPLE_TOPIC missing or empty$"):
        load(Example, {"EXAMPLE_TOPIC": "  "})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EXAMPLE_DAYS", "0", "EXAMPLE_DAYS='0' is not a positive integer"),
        ("EXAMPLE_DAYS", "ten", "EXAMPLE_DAYS='ten' is not a positive integer"),
        ("EXAMPLE_MODE", "c", "EXAMPLE_MODE='c' is not one of a, b"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_allowed(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^tests: environment variable {message}$"):
        load(Example, {"EXAMPLE_TOPIC": "t", name: value})


def test_lazy_reads_the_environment_on_first_use_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXAMPLE_TOPIC", raising=False)
    settings = Lazy(Example)  # nothing read yet: creating it cannot fail
    with pytest.raises(SettingsError, match="EXAMPLE_TOPIC"):
        settings.get()
    monkeypatch.setenv("EXAMPLE_TOPIC", "first")
    assert settings.get().topic == "first"
    monkeypatch.setenv("EXAMPLE_TOPIC", "second")
    assert settings.get().topic == "first"  # read once per execution environment
    with pytest.raises(FrozenInstanceError):
        settings.get().topic = "x"  # type: ignore[misc]
    settings.clear()
    assert settings.get().topic == "second"


def test_parsers() -> None:
    assert arn_list('["arn:a", "arn:b", "arn:a"]') == ("arn:a", "arn:b")
    for bad in ("x", "[]", '["bucket"]', "{}"):
        with pytest.raises(ValueError):
            arn_list(bad)
    assert hours(168)("26") == 26.0
    for bad in ("0", "169", "soon"):
        with pytest.raises(ValueError):
            hours(168)(bad)
    assert key_value("data-class=phi") == ("data-class", "phi")
    with pytest.raises(ValueError, match="must be key=value"):
        key_value("data-class")
    assert name_set("a, b,,a") == frozenset({"a", "b"})
    assert flag("true") is True and flag("false") is False
    with pytest.raises(ValueError):
        flag("yes")
