"""Which tests verify which requirement, read statically (``ast``) from the test modules.

A module says ``pytestmark = pytest.mark.requirements("R1", "R2")`` (or a list holding such a
mark); a single test or test class may be decorated with ``@pytest.mark.requirements(...)``.
No pytest run is needed, so ``make report`` stays fast and needs no synth of its own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TestModule:
    path: str  # relative to the repository root, e.g. tests/stacks/test_network.py
    tests: int  # test functions in the module that carry the requirement


def _requirement_ids(node: ast.expr) -> list[str]:
    """The ids of a ``pytest.mark.requirements(...)`` call (or a list/tuple of marks)."""
    if isinstance(node, ast.List | ast.Tuple):
        return [rid for element in node.elts for rid in _requirement_ids(element)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "requirements":
        return [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return []


def _is_test(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def _tests_in(node: ast.Module | ast.ClassDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    found: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    for child in node.body:
        if _is_test(child):
            assert isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            found.append(child)
        elif isinstance(child, ast.ClassDef) and child.name.startswith("Test"):
            found.append(child)
    return found


def _count(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
    if isinstance(node, ast.ClassDef):
        return sum(1 for child in node.body if _is_test(child))
    return 1


def requirement_tests(tests_root: Path, repo_root: Path) -> dict[str, list[TestModule]]:
    """R-id -> the test modules (sorted by path) that verify it, with how many tests do."""
    counts: dict[str, dict[str, int]] = {}
    for file in sorted(tests_root.rglob("test_*.py")):
        tree = ast.parse(file.read_text(), filename=str(file))
        relative = file.relative_to(repo_root).as_posix()
        module_ids: list[str] = []
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets):
                module_ids.extend(_requirement_ids(statement.value))
        for test in _tests_in(tree):
            ids = set(module_ids)
            for decorator in test.decorator_list:
                ids.update(_requirement_ids(decorator))
            for rid in ids:
                counts.setdefault(rid, {}).setdefault(relative, 0)
                counts[rid][relative] += _count(test)
    return {rid: [TestModule(path, n) for path, n in sorted(modules.items())] for rid, modules in counts.items()}
