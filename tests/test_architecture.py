"""The package's shape (docs/architecture.md): the layer contracts hold and catch a
wrong import, no module imports itself round a circle, and every import left inside a
function says why it is there."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

from facilitator.core.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "facilitator"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the project's contracts, on the package found under ``root``."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(PROJECT_ROOT / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layer_contracts_are_kept() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_import_against_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    """The domain reaching up into the Socket.IO edge, and documents into the live layer."""
    copy = tmp_path / "facilitator"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "translations"))
    with (copy / "domain" / "board.py").open("a") as module:
        module.write("\nfrom facilitator.edges import sockets  # noqa\n")
    with (copy / "documents" / "mail.py").open("a") as module:
        module.write("\nfrom facilitator.live import publish  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "0 kept, 2 broken" in result.stdout
    assert "facilitator.domain.board -> facilitator.edges.sockets" in result.stdout
    assert "facilitator.documents.mail -> facilitator.live.publish" in result.stdout


def test_no_module_imports_itself_round_a_circle() -> None:
    """Every import counts, those inside functions too: the graph has no cycle."""
    graph = grimp.build_graph("facilitator")
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            assert not graph.chain_exists(imported, module), (
                f"{module} -> {imported} -> ... -> {module}: "
                + " -> ".join(graph.find_shortest_chain(imported, module) or ())
            )


def _of_the_project(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "facilitator"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "facilitator" for alias in node.names)
    return False


def _imports_in_functions(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [inner for inner in ast.walk(node) if _of_the_project(inner)]
    return found


def _says_why(lines: list[str], node: ast.Import | ast.ImportFrom) -> bool:
    """A comment on the import's lines, or above it on a comment line or an import
    line of the same group."""
    row = (node.end_lineno or node.lineno) - 1
    while row >= 0:
        if "#" in lines[row]:
            return True
        if row < node.lineno - 1 and not lines[row].strip().startswith(("from ", "import ")):
            return False
        row -= 1
    return False


def test_every_import_inside_a_function_says_why() -> None:
    """Of the project's own modules: the few deliberate ones (CLI start-up, the eventlet
    patching, WeasyPrint kept out of the server) carry a one-line reason."""
    silent = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = path.read_text().splitlines()
        for node in _imports_in_functions(ast.parse("\n".join(lines))):
            if not _says_why(lines, node):
                silent.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert not silent, "imports inside functions with no reason given: " + ", ".join(silent)


def test_the_package_imports_nothing_of_the_tests_or_the_bench() -> None:
    """``harness`` (shared by tests/ and bench/), ``tests`` and ``bench`` are tools for
    working on the app, never part of what it runs."""
    tools = {"harness", "tests", "bench"}
    found = []
    for path in sorted((PROJECT_ROOT / "facilitator").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [(path.name, n) for n in names if n.split(".")[0] in tools]
    assert not found, found
