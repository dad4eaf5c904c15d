"""The tests' own layout: a test module imports what it shares from ``support``, never from
``conftest`` or from another test module, and ``conftest.py`` only declares fixtures."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def bad_imports(source: str) -> list[str]:
    """The imports of ``source`` (at any depth) of ``conftest`` or of a ``test_*`` module."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "conftest" or top.startswith("test_"):
                bad.append(f"line {node.lineno}: {name}")
    return bad


def test_the_check_sees_every_kind_of_import():
    source = (
        "import os\nfrom conftest import tiny_sentences\nimport test_model as m\n"
        "def f():\n    from test_predict import TEXT\n"
        "from support.models import TEXT\nfrom enttag.data import prepare\n"
    )
    assert bad_imports(source) == ["line 2: conftest", "line 3: test_model", "line 5: test_predict"]


def test_no_test_module_imports_conftest_or_another_test_module():
    modules = sorted(TESTS.glob("test_*.py")) + sorted((TESTS / "support").glob("*.py"))
    assert len(modules) > 40
    found = {
        str(path.relative_to(TESTS)): bad
        for path in modules
        if (bad := bad_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "import what is shared from tests/support instead"


def is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ast.unparse(target) in {"pytest.fixture", "fixture"}


def test_conftest_only_declares_fixtures():
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    others = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.FunctionDef) and any(map(is_fixture, node.decorator_list)):
            continue
        others.append(f"line {node.lineno}: {ast.unparse(node).splitlines()[0]}")
    assert others == [], "helpers and constants go in tests/support"
