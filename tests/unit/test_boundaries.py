"""The house's arrows point one way: read models see only goalflow's public face and the
projection interface; the domain sees nothing but itself, its errors and eventsourcing's
domain module; a module another uses (the SMART check, the row writer) never imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def imported_names(path: Path, package: str) -> set[str]:
    """Every module and name the file imports, fully qualified (relative imports resolved
    against ``package``), including imports made for type checking only."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1] if node.level else [])
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "projections").glob("*.py")), ids=str)
def test_read_models_import_only_the_public_api_and_the_projection_interface(path: Path
                                                                            ) -> None:
    ours = {m for m in imported_modules(path) if m.split(".")[0] == "goalflow"}
    assert ours <= {"goalflow", "goalflow.projection"}, f"{path.name} imports {ours}"


@pytest.mark.parametrize("path", sorted((ROOT / "src" / "goalflow" / "domain").glob("*.py")),
                         ids=str)
def test_the_domain_imports_no_io_and_nothing_outside_itself(path: Path) -> None:
    for module in imported_modules(path):
        top = module.split(".")[0]
        # zoneinfo reads the machine's time zone files: the clinic's zone comes in as data.
        assert top not in {"sqlite3", "psycopg", "os", "time", "socket", "pathlib", "io",
                           "zoneinfo"}, f"{path.name} imports {module}"
        if top == "goalflow":
            # goalflow.outcomes is pure arithmetic on the domain's values (the goal's
            # achievementStatus in to_dict); it is held to the same rules below.
            assert module.startswith(("goalflow.domain", "goalflow.errors",
                                      "goalflow.outcomes")), f"{path.name} imports {module}"
        if top == "eventsourcing":
            assert module == "eventsourcing.domain", f"{path.name} imports {module}"


@pytest.mark.parametrize("path",
                         sorted((ROOT / "src" / "goalflow" / "outcomes").glob("*.py")), ids=str)
def test_the_outcomes_are_pure_and_never_import_the_goal_that_uses_them(path: Path) -> None:
    for name in imported_names(path, "goalflow.outcomes"):
        top = name.split(".")[0]
        assert top in {"__future__", "attrs", "collections", "datetime", "math", "typing",
                       "uuid", "goalflow"}, f"{path.name} imports {name}"
        if top == "goalflow":
            assert name.startswith(("goalflow.domain.values", "goalflow.domain.instruments",
                                    "goalflow.errors", "goalflow.outcomes")), (
                f"{path.name} imports {name}")


# (the module that is used, the module that uses it): the user imports the used, never the
# reverse, not even under TYPE_CHECKING (else the two are one module in two files again).
ONE_WAY = [
    # smart.py reads a goal through its Terms protocol.
    pytest.param("goalflow.domain.smart", "goalflow.domain.goal", id="smart-check-not-goal"),
    # rows.py sees a projection as a TableSet.
    pytest.param("goalflow.rows", "goalflow.projection", id="rows-not-projection"),
]


@pytest.mark.parametrize(("used", "user"), ONE_WAY)
def test_a_module_that_is_used_does_not_import_its_user(used: str, user: str) -> None:
    path = ROOT / "src" / Path(*used.split(".")).with_suffix(".py")
    names = imported_names(path, used.rpartition(".")[0])
    back = {n for n in names if f"{n}.".startswith(f"{user}.")}
    assert not back, f"{path.name} imports {back}"
