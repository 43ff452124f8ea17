"""The layers of docs/architecture.md, checked on the source: imports only point downwards.

Every ``import`` and ``from … import`` of ``src/maillage`` is read with :mod:`ast` (including
imports inside functions, where a lazy import would otherwise hide an upward arrow) and checked
against the rules below. A new app that breaks a rule fails here, with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "maillage"

DOMAIN_APPS = {"territory", "directory", "observatory", "care", "planning"}
ENTRY_POINTS = {"bootstrap", "cli", "demo"}  # what sits on top: setting up and running maillage


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, src: Path = SRC) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path, src)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from maillage import demo`` imports maillage.demo
            if target.split(".")[0] == "maillage":
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _layer(module: str) -> str | None:
    """The top-level part of maillage a module belongs to (``directory``, ``cli``…)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "maillage" and len(parts) > 1 else None


def _forbidden(path: Path, imported: str, src: Path = SRC) -> str | None:
    """Why importing ``imported`` from ``path`` breaks a layer rule, or None."""
    own = _layer(_module_name(path, src))
    command = "management" in path.relative_to(src).parts
    target = _layer(imported)
    top = imported.split(".")[0]
    if own in ("analytics", "opendata"):
        if top == "django":
            return f"{own} is pure computation: no Django"
        if top == "maillage" and target not in ("analytics", "opendata"):
            return f"{own} imports no maillage app"
    if target is None or target == own:
        return None
    if target == "demo" and not command and own not in ("bootstrap", "cli"):
        return "only bootstrap, cli and management commands use the demo"
    if target in ("bootstrap", "cli") and not command and own != "cli":
        return "bootstrap and cli sit on top: nothing below imports them"
    if own == "territory" and target in DOMAIN_APPS - {"territory"}:
        return "territory is the bottom domain app: it imports no other"
    if own == "directory" and target in DOMAIN_APPS - {"territory", "directory"}:
        return "directory sits below the observatory and the care apps"
    if own == "accounts" and target in DOMAIN_APPS:
        return "accounts imports no domain app: objects declare scope_communes/is_owned_by"
    return None


def _violations(root: Path = PACKAGE) -> list[str]:
    src = root.parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:  # migrations name models as strings, by app label
            continue
        broken = {}  # one message per import statement
        for line, imported in _imports(path, src):
            why = _forbidden(path, imported, src)
            if why and line not in broken:
                broken[line] = f"{path.relative_to(src)}:{line} imports {imported}: {why}"
        found += broken.values()
    return found


def test_imports_follow_the_layers() -> None:
    assert _violations() == []


def test_the_source_tree_is_read() -> None:
    """Guards the guard: the walk sees the apps and their lazy imports."""
    seen = {imported for path in PACKAGE.rglob("*.py") for _, imported in _imports(path)}
    assert "maillage.directory.models" in seen
    assert "maillage.demo.synthetic" in seen  # a lazy import inside bootstrap.run_named_import


@pytest.mark.parametrize(
    ("module", "statement"),
    [
        ("analytics/x.py", "import django"),
        ("opendata/x.py", "from maillage.territory import models"),
        ("territory/x.py", "from maillage.directory.models import Practitioner"),
        ("directory/x.py", "from maillage.observatory.models import DepartementStat"),
        ("directory/search/x.py", "from maillage.bootstrap import initialise"),
        ("directory/x.py", "from maillage.demo import synthetic"),
        ("observatory/x.py", "from maillage import demo"),
        ("accounts/x.py", "from maillage.directory.models import Practitioner"),
        ("directory/api/x.py", "from ...demo.directory import load_demo_directory"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path: Path, module: str, statement: str) -> None:
    path = tmp_path / "maillage" / module
    path.parent.mkdir(parents=True)
    path.write_text(f"def f():\n    {statement}\n", encoding="utf-8")
    assert len(_violations(tmp_path / "maillage")) == 1


@pytest.mark.parametrize(
    ("module", "statement"),
    [
        ("cli.py", "from maillage.demo.accounts import ensure_demo_accounts"),
        ("directory/management/commands/x.py", "from maillage.demo import synthetic"),
        ("demo/x.py", "from maillage.observatory.models import DepartementStat"),
        ("observatory/x.py", "from maillage.directory.models import Practitioner"),
        ("directory/x.py", "from maillage.accounts.permissions import can"),
    ],
)
def test_an_allowed_import_passes(tmp_path: Path, module: str, statement: str) -> None:
    path = tmp_path / "maillage" / module
    path.parent.mkdir(parents=True)
    path.write_text(f"{statement}\n", encoding="utf-8")
    assert _violations(tmp_path / "maillage") == []
