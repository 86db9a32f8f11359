"""Guards on the project's layout (docs/conventions.md, "Layout")."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Dependencies point one way (docs/conventions.md, "Layout"): app.py -> stacks/ -> constructs/ -> catalog;
# tools/ read the cloud assembly and the leaf module ``catalog``, never ``constructs`` (nor CDK
# constructs through it). Each entry: the source folder (or file) -> top-level packages it must not import.
FORBIDDEN: dict[str, frozenset[str]] = {
    # A construct declares its own typed settings; the stack maps the environment's config onto them.
    "constructs": frozenset({"stacks", "tools"}),
    "stacks": frozenset({"tools"}),
    "tools": frozenset({"constructs"}),
    # The leaf both sides share: it depends on nothing of the project (and not on CDK).
    "catalog.py": frozenset({"stacks", "constructs", "tools", "aws_cdk"}),
    # Each function is packaged alone (Code.from_asset of its folder): an import of the CDK app fails at run time.
    "lambda": frozenset({"stacks", "constructs", "tools", "catalog", "aws_cdk"}),
    "service": frozenset({"stacks", "constructs", "tools", "catalog", "aws_cdk"}),
}


def imported_modules(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source`` (``module`` is its dotted name),
    at any depth: inside functions, ``if TYPE_CHECKING`` blocks and ``try`` blocks as well."""
    package = module.rsplit(".", 1)[0] if "." in module else ""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield node.lineno, name


def layering_violations(source: str, path: str) -> list[str]:
    """``path:line imports module`` for each import ``FORBIDDEN`` rules out for the file at ``path`` (relative to the root)."""
    top = path.split("/", 1)[0]
    forbidden = FORBIDDEN.get(top, frozenset())
    module = path.removesuffix(".py").replace("/", ".")
    return [f"{path}:{line} imports {name}" for line, name in imported_modules(source, module) if name.split(".", 1)[0] in forbidden]


def _sources() -> list[Path]:
    found: list[Path] = []
    for entry in FORBIDDEN:
        target = ROOT / entry
        found.extend([target] if target.is_file() else sorted(target.rglob("*.py")))
    return found


def test_dependencies_point_one_way() -> None:
    sources = _sources()
    folders = {p.relative_to(ROOT).parts[0] for p in sources}
    assert folders == set(FORBIDDEN), f"nothing found under {sorted(set(FORBIDDEN) - folders)}"
    assert len(sources) > 100  # the walk really reads the tree (about 150 modules today)
    violations = [v for p in sources for v in layering_violations(p.read_text(), p.relative_to(ROOT).as_posix())]
    assert violations == [], "imports against the layering (docs/conventions.md):\n" + "\n".join(violations)


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("constructs/x.py", "from stacks.config.edge import EdgeConfig", ["constructs/x.py:1 imports stacks.config.edge"]),
        ("constructs/x.py", "import stacks.config", ["constructs/x.py:1 imports stacks.config"]),
        ("constructs/x.py", "from stacks import config", ["constructs/x.py:1 imports stacks"]),
        ("constructs/x.py", "def f():\n    from tools.assembly import stacks", ["constructs/x.py:2 imports tools.assembly"]),
        ("constructs/x.py", "from constructs import Construct\nfrom constructs.traceability import trace\nfrom catalog import PILLARS", []),
        (
            "stacks/config/x.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tools.report",
            ["stacks/config/x.py:3 imports tools.report"],
        ),
        ("stacks/x.py", "from constructs.phi_bucket import PhiBucket\nimport aws_cdk", []),
        ("tools/report/x.py", "from constructs.traceability import REQUIREMENTS", ["tools/report/x.py:1 imports constructs.traceability"]),
        ("tools/report/x.py", "from constructs import Construct", ["tools/report/x.py:1 imports constructs"]),
        ("tools/report/x.py", "from . import model\nfrom .status import STATUS\nfrom catalog import REQUIREMENTS", []),
        ("catalog.py", "import aws_cdk as cdk", ["catalog.py:1 imports aws_cdk"]),
        ("lambda/mv_x/logic.py", "from stacks.config import evidence", ["lambda/mv_x/logic.py:1 imports stacks.config"]),
        ("tests/x.py", "from stacks import config\nfrom tools import assembly\nfrom constructs.x import Y", []),
    ],
)
def test_layering_check_sees_every_import_form(path: str, source: str, expected: list[str]) -> None:
    assert layering_violations(source, path) == expected


def test_constructs_folder_has_no_init_file() -> None:
    # An __init__.py would make ./constructs a regular package that hides the installed
    # `constructs` library, and `import aws_cdk` would then fail.
    assert not (ROOT / "constructs" / "__init__.py").exists()


def test_local_constructs_and_library_import_side_by_side() -> None:
    from constructs import Construct  # the library
    from constructs.purpose_key import PurposeKey  # this project

    assert issubclass(PurposeKey, Construct)


def test_lambda_functions_have_no_package_clash() -> None:
    # Each function folder is importable as a top-level package (lambda/ is on pythonpath).
    import importlib.util

    folders = sorted(p for p in (ROOT / "lambda").iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    assert len(folders) >= 5
    for folder in folders:
        # lambda/mv_shared is the functions' shared library (packaged into the assets that import it), not a function.
        assert folder.name == "mv_shared" or (folder / "handler.py").exists(), f"lambda/{folder.name} has no handler.py"
        spec = importlib.util.find_spec(folder.name)
        assert spec is not None, folder.name
        # A namespace package made of exactly this folder: nothing installed shares the name.
        locations = [Path(p).resolve() for p in (spec.submodule_search_locations or [])]
        assert locations == [folder.resolve()], f"{folder.name} clashes with an installed package: {locations}"


def test_every_lambda_folder_and_the_service_are_type_checked() -> None:
    """`make typecheck` names its folders one by one (each function is packaged alone, so mypy cannot
    be run over lambda/ as one package): a new function must be added to it, or mypy never sees it."""
    import re

    [line] = [line for line in (ROOT / "Makefile").read_text().splitlines() if "bin/mypy " in line]
    checked = set(re.findall(r"lambda/([a-z0-9_]+)", line))
    folders = {p.name for p in (ROOT / "lambda").iterdir() if p.is_dir() and (p / "handler.py").is_file()}
    assert folders and folders <= checked, f"not type-checked: {sorted(folders - checked)}"
    assert "service/medivault_service" in line
