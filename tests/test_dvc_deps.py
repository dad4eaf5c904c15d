"""Every stage's ``deps`` in dvc.yaml cover every project module the stage runs.

The import closure of ``stages/<name>.py`` is read from the code with ``ast``: every
``enttag.*`` import, at any depth (function-local ones included), and the package
``__init__.py`` files Python runs on the way. Two kinds of import are not run by
importing a module and are skipped: ``if TYPE_CHECKING:`` blocks and a package's lazy
``__getattr__`` (followed only where ``from package import name`` asks for it).
"""

from __future__ import annotations

import ast
import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.process import run

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "enttag"


def module_file(name: str) -> Path | None:
    """The file of module ``name`` under src/, or None if it is not a project module."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def run_imports(tree: ast.AST, skip_lazy: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import nodes that run when the module (and its functions) run."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and is_type_checking(child):
            yield from (n for stmt in child.orelse for n in run_imports(stmt, False))
            continue
        if skip_lazy and isinstance(child, ast.FunctionDef) and child.name == "__getattr__":
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from run_imports(child, False)


def lazy_imports(init: Path) -> list[str]:
    """Modules a package's ``__getattr__`` imports on attribute access."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    hooks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    return [name for hook in hooks for name, _ in imported_names(hook, init)]


def imported_names(tree: ast.AST, path: Path) -> Iterator[tuple[str, str | None]]:
    """(module, name imported from it or None) for each import in ``tree``."""
    package = ".".join(path.relative_to(SRC).parent.parts) if path.is_relative_to(SRC) else ""
    for node in run_imports(tree, skip_lazy=path.name == "__init__.py"):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
            continue
        module = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*parts, *([module] if module else [])])
        yield from ((module, alias.name) for alias in node.names)


def direct_files(path: Path) -> set[Path]:
    """Project module files that running ``path`` imports directly (and their packages)."""
    files = set()
    for module, name in imported_names(ast.parse(path.read_text(encoding="utf-8")), path):
        if module.split(".")[0] != PACKAGE:
            continue
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__
            if found := module_file(".".join(parts[:i])):
                files.add(found)
        if name is None:
            continue
        if found := module_file(f"{module}.{name}"):
            files.add(found)
        elif (init := module_file(module)) and init.name == "__init__.py":
            files |= {f for m in lazy_imports(init) if (f := module_file(m))}
    return files


def import_closure(script: Path) -> set[Path]:
    """Every project file running ``script`` may execute, ``script`` included."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += direct_files(path)
    return seen


def stage_script(cmd: str) -> Path:
    """``python -m stages.x`` (or ``python stages/x.py``) -> stages/x.py."""
    args = shlex.split(cmd)
    target = args[args.index("-m") + 1].replace(".", "/") + ".py" if "-m" in args else args[-1]
    return ROOT / target


def covered(path: Path, deps: list[str]) -> bool:
    """A dep covers a file if it is the file or a folder above it."""
    rel = path.relative_to(ROOT)
    return any(rel == Path(d) or Path(d) in rel.parents for d in deps)


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_its_import_closure(name):
    stage = STAGES[name]
    deps = [d for d in stage.get("deps", []) if isinstance(d, str)]
    script = stage_script(stage["cmd"])
    assert script.is_file(), f"stage {name}: no script {script.relative_to(ROOT)}"
    missing = sorted(
        str(f.relative_to(ROOT)) for f in import_closure(script) if not covered(f, deps)
    )
    assert not missing, f"stage {name}: dvc.yaml deps do not cover {', '.join(missing)}"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_code_deps_are_exactly_its_import_closure(name):
    """File by file: a folder dep (or a module the stage never runs) would re-run the
    stage when a module it does not use changes."""
    stage = STAGES[name]
    code = {d for d in stage.get("deps", []) if d.startswith(("stages/", "src/"))}
    closure = {str(f.relative_to(ROOT)) for f in import_closure(stage_script(stage["cmd"]))}
    assert code == closure, (
        f"stage {name}: extra {sorted(code - closure)}, missing {sorted(closure - code)}"
    )


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_code_deps_exist_and_are_imported(name):
    """No stale code dep: each one exists and the stage imports something under it."""
    stage = STAGES[name]
    closure = import_closure(stage_script(stage["cmd"]))
    for dep in stage.get("deps", []):
        if dep.startswith(("stages/", "src/")):
            assert (ROOT / dep).exists(), f"stage {name}: dep {dep} does not exist"
            assert any(covered(f, [dep]) for f in closure), (
                f"stage {name}: dep {dep} holds no module the stage imports"
            )


def test_closure_follows_function_local_and_lazy_imports(tmp_path):
    """The closure sees imports inside functions and ``from enttag import Tagger``."""
    local = tmp_path / "local.py"
    local.write_text("def f():\n    from enttag.report import verdict\n", encoding="utf-8")
    assert SRC / "enttag/report/verdict.py" in import_closure(local)
    lazy = tmp_path / "lazy.py"
    lazy.write_text("from enttag import Tagger\n", encoding="utf-8")
    assert SRC / "enttag/tagging/tagger.py" in import_closure(lazy)
    plain = tmp_path / "plain.py"
    plain.write_text("import enttag.errors\n", encoding="utf-8")
    assert import_closure(plain) == {plain, SRC / "enttag/__init__.py", SRC / "enttag/errors.py"}


# A change to each file makes exactly these stages stale (``dvc status`` lists a stage
# whose own deps changed; the stages after it follow once it has re-run).
STALE_AFTER_EDIT = {
    "src/enttag/report/verdict.py": {"evaluate"},
    "src/enttag/tagging/export.py": set(),
    "src/enttag/experiments/journal.py": set(),
    "src/enttag/baseline/crf.py": {"baseline"},
    "src/enttag/training/loop.py": {"train"},
    "src/enttag/fusion.py": {"fuse", "evaluate"},
}


@pytest.mark.slow
def test_an_edit_makes_exactly_the_stages_that_run_the_file_stale(tiny_repo):
    status = ["dvc", "status", "--json", "plot", "--with-deps"]  # all but fetch (not run here)
    assert json.loads(run(status, tiny_repo).stdout or "{}") == {}
    for name, expected in STALE_AFTER_EDIT.items():
        path = tiny_repo / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n# an edit\n")
        stale = json.loads(run(status, tiny_repo).stdout or "{}")
        path.write_bytes(original)
        assert {stage.split(":")[-1] for stage in stale} == expected, name


def package_of(path: Path) -> str:
    """``enttag/report/spans.py`` -> ``report``; a top-level module is its own node."""
    parts = path.relative_to(SRC / PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def package_graph() -> dict[str, set[str]]:
    """Which of enttag's packages (and top-level modules) each one imports, at any depth
    of its modules and functions; ``enttag/__init__.py``'s lazy ``Tagger`` is left out."""
    graph: dict[str, set[str]] = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        if path == SRC / PACKAGE / "__init__.py":
            continue
        source = package_of(path)
        for module, name in imported_names(ast.parse(path.read_text(encoding="utf-8")), path):
            parts = module.split(".")
            if parts[0] != PACKAGE:
                continue
            target = parts[1] if len(parts) > 1 else name
            if target and target != source:
                graph.setdefault(source, set()).add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as ``[a, b, ..., a]``, or [] if the graph has none."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_packages_import_each_other_without_a_cycle():
    """Packages are cut along the stages and import only downward (training and report
    use the metrics core; nothing below imports them back)."""
    graph = package_graph()
    assert {"training", "report", "metrics", "tagging", "model"} <= graph.keys()
    assert find_cycle(graph) == [], " -> ".join(find_cycle(graph))
    assert "report" not in graph["training"] and "training" not in graph["report"]


def test_find_cycle_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
