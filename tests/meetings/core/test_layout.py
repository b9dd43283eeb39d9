"""The layout a newcomer relies on: the README's tree is the folders, dependencies point
one way, no domain module reaches into handlers, and every module stays readable."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("meetings", "agendas", "notify", "scheduler")
#: The only modules of meetings/ that may import the packages built on it.
COMPOSITION = {
    "meetings/core/app.py",
    "meetings/core/tables.py",
    "meetings/core/cli.py",
    "meetings/core/demo.py",
    "meetings/core/demo_sessions.py",
}
HANDLER_MODULES = {"api.py", "views.py", "forms.py", "routes.py"}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _readme_tree() -> set[str]:
    """Folder paths named in the README's architecture block (`meetings/core`, …)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Architecture", 1)[1].split("```", 2)[1]
    paths: set[str] = set()
    parent = ""
    for line in block.splitlines():
        match = re.match(r"^( *)([a-z_]+)/ ", line)
        if not match:
            continue
        if match.group(1):
            paths.add(f"{parent}/{match.group(2)}")
        else:
            parent = match.group(2)
            paths.add(parent)
    return paths


def test_the_readme_tree_names_every_part_and_only_existing_ones():
    parts = {
        str(init.parent.relative_to(ROOT))
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
        if init.parent.name != "__pycache__"
    }
    named = {p for p in _readme_tree() if p.split("/")[0] in PACKAGES}
    assert parts - named == set(), "parts missing from the README's architecture tree"
    assert {p for p in named if not (ROOT / p).is_dir()} == set(), "README names missing folders"


def test_meetings_imports_nothing_built_on_it():
    offenders = []
    for path in (ROOT / "meetings").rglob("*.py"):
        relative = str(path.relative_to(ROOT))
        if relative in COMPOSITION:
            continue
        for name in _imports(path):
            if name.split(".")[0] in {"agendas", "notify", "scheduler"}:
                offenders.append(f"{relative}: {name}")
    assert offenders == []


def test_domain_modules_never_import_handlers():
    offenders = []
    for path in _modules():
        handlers = path.name in HANDLER_MODULES or path.name.endswith(("_views.py", "_api.py"))
        if handlers or path.name in {"app.py", "cli.py", "pages.py"}:
            continue
        for name in _imports(path):
            leaf = name.split(".")[-1]
            if (
                leaf in {"api", "views", "forms", "routes", "pages"}
                and name.split(".")[0] in PACKAGES
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_modules_and_functions_stay_a_size_a_reader_can_hold():
    too_big = []
    for path in _modules():
        source = path.read_text()
        relative = path.relative_to(ROOT)
        if source.count("\n") > 400:
            too_big.append(f"{relative}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    too_big.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    assert too_big == []


def test_every_part_has_the_same_shape():
    """A part with handlers declares them in its routes.py, so the root can mount it."""
    missing = []
    for package in PACKAGES:
        for handlers in (ROOT / package).rglob("*.py"):
            if (
                handlers.name in {"api.py", "views.py"}
                and not (handlers.parent / "routes.py").exists()
            ):
                # scheduler/views.py only provides a panel; panels are not routes
                if handlers.parent.name != "scheduler":
                    missing.append(str(handlers.parent.relative_to(ROOT)))
    assert missing == []
