"""Every function is layered the same way (CONVENTIONS.md, "Lambda handlers"; the cookbook's
handlers -> logic -> dal):
- the same files: ``__init__.py``, ``handler.py`` (parse/validate the event, load settings, call
  logic, shape the response), ``logic.py`` (the decisions), ``dal.py`` (AWS clients and calls);
- only ``dal.py`` imports boto3 or botocore; ``logic.py`` never imports ``dal`` (it reaches AWS
  through the objects the handler passes in);
- nothing but the shared settings loader reads the environment (``os.environ`` / ``os.getenv``);
- settings are one frozen dataclass per function, loaded by ``mv_shared.settings.Lazy``.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

from mv_shared.settings import Lazy

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
FUNCTIONS = sorted(p.name for p in LAMBDA.iterdir() if (p / "handler.py").is_file())
LAYERS = ["__init__.py", "dal.py", "handler.py", "logic.py"]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" and node.attr in ("environ", "getenv"):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name in ("environ", "getenv") for a in node.names):
            return True
    return False


def test_there_are_seven_functions_and_one_shared_folder() -> None:
    assert len(FUNCTIONS) == 7
    assert (LAMBDA / "mv_shared" / "__init__.py").is_file() and "mv_shared" not in FUNCTIONS


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_has_the_three_layers_and_only_dal_calls_aws(name: str) -> None:
    folder = LAMBDA / name
    assert sorted(p.name for p in folder.glob("*.py")) == LAYERS
    for layer in ("handler.py", "logic.py", "__init__.py"):
        aws = {m for m in _imports(folder / layer) if m.split(".")[0] in ("boto3", "botocore")}
        assert aws == set(), f"{name}/{layer} imports {sorted(aws)}: AWS calls belong in dal.py"
    assert not {m for m in _imports(folder / "logic.py") if m == f"{name}.dal" or m.startswith(f"{name}.dal.") or m == f"{name}.handler"}
    assert {m for m in _imports(folder / "dal.py") if m.split(".")[0] == "boto3"}, f"{name}/dal.py creates no client"


@pytest.mark.parametrize("path", sorted(LAMBDA.rglob("*.py")), ids=lambda p: str(p.relative_to(LAMBDA)))
def test_only_the_settings_loader_reads_the_environment(path: Path) -> None:
    assert _reads_environment(path) == (path == LAMBDA / "mv_shared" / "settings.py")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_settings_are_one_frozen_dataclass_loaded_lazily(name: str) -> None:
    handler = importlib.import_module(f"{name}.handler")
    if name in ("mv_db_migration", "mv_macie_job"):  # custom resources: everything comes with the request
        assert not hasattr(handler, "SETTINGS")
        return
    assert isinstance(handler.SETTINGS, Lazy) and handler.SETTINGS.cls is handler.Settings
    params = getattr(handler.Settings, "__dataclass_params__", None)
    assert dataclasses.is_dataclass(handler.Settings) and params is not None and params.frozen
