"""Every module that ``src/`` and ``tests/`` import is declared in ``pyproject.toml``.

A module that only a transitive dependency (or the machine's global Python) happens to provide
works on one machine and breaks on the next: the suite stopped at collection on a fresh
virtualenv because ``openapi_spec_validator`` was imported by a test and declared nowhere.
This test reads every ``.py`` file with ``ast``, keeps the top-level names of the third-party
modules imported anywhere in it (functions included), maps each to the distribution that
provides it in the running environment and requires that distribution to be a requirement of
the project (main dependencies or the ``test`` extra).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("src", "tests")
FIRST_PARTY = {"maillage", "tests"}


def declared_distributions(pyproject: Path = ROOT / "pyproject.toml") -> set[str]:
    """Canonical names of the main dependencies and of the ``test`` extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def local_module_names(roots: list[Path]) -> set[str]:
    """Names a file can import without any install: the modules and packages of the tree
    (``conftest``, ``sample_figures``…), since pytest puts their folders on ``sys.path``."""
    names = set(FIRST_PARTY)
    for root in roots:
        for path in root.rglob("*.py"):
            names.add(path.stem)
            names.update(part for part in path.relative_to(root).parts[:-1])
    return names


def imported_modules(path: Path) -> dict[str, int]:
    """Top-level name of every absolute import in the file → first line importing it."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.partition(".")[0], node.lineno)
    return found


def third_party_imports(roots: list[Path]) -> dict[str, str]:
    """Third-party top-level module → ``file:line`` of its first import."""
    local = local_module_names(roots)
    where: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for module, line in imported_modules(path).items():
                if module in sys.stdlib_module_names or module in local or module == "__future__":
                    continue
                where.setdefault(module, f"{path.relative_to(ROOT)}:{line}")
    return where


def undeclared(imports: dict[str, str], declared: set[str]) -> list[str]:
    """One line per import that no declared distribution provides."""
    providers = packages_distributions()
    problems = []
    for module, where in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists:
            problems.append(f"{where}: {module} is imported but no installed distribution has it")
        elif not dists & declared:
            problems.append(
                f"{where}: {module} comes from {', '.join(sorted(dists))}, "
                "which pyproject.toml does not declare"
            )
    return problems


def test_every_import_is_declared():
    imports = third_party_imports([ROOT / name for name in SCANNED])
    # the scan must see the project's real dependencies, or it checks nothing
    assert {"django", "pytest", "openapi_spec_validator"} <= set(imports)
    assert undeclared(imports, declared_distributions()) == []


def test_a_missing_declaration_is_reported(tmp_path):
    """The check itself can fail: drop one requirement and it names the import."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = tomllib.loads(text)["project"]
    line = next(r for r in project["dependencies"] if Requirement(r).name == "rapidfuzz")
    stripped = tmp_path / "pyproject.toml"
    stripped.write_text(text.replace(f'"{line}",', ""), encoding="utf-8")
    declared = declared_distributions(stripped)
    assert "rapidfuzz" not in declared
    imports = third_party_imports([ROOT / name for name in SCANNED])
    new = set(undeclared(imports, declared)) - set(undeclared(imports, declared_distributions()))
    assert len(new) == 1 and "rapidfuzz comes from rapidfuzz" in new.pop(), new
