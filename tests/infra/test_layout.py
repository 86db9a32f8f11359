"""Guards on the project's layout (CONVENTIONS.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
        assert (folder / "handler.py").exists(), f"lambda/{folder.name} has no handler.py"
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
