"""docs/architecture.md against the code: every module's layer, every command's job and config.

The page is the map a newcomer reads first. This test fails, naming the row, when it no longer
matches the package, the CLI in cli.py, dvc.yaml or the import-linter contracts.
"""

import ast
import inspect
import tomllib
from pathlib import Path
from typing import Any

import yaml

from {{ cookiecutter.package_name }} import cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_NAME = cli.__name__.rpartition(".")[0]
PACKAGE = PROJECT_ROOT / "src" / PACKAGE_NAME
PAGE = PROJECT_ROOT / "docs" / "architecture.md"
ENTRY_POINTS = {"cli.py", "__main__.py"}  # the top layer: the console script and `python -m`
NONE = "-"


def cells(text: str) -> list[str]:
    """``"`a`, `b`"`` -> ``["a", "b"]``; ``-`` (nothing) -> ``[]``."""
    values = [value.strip().strip("`") for value in text.split(",")]
    return [value for value in values if value and value != NONE]


def table(heading: str) -> dict[str, list[list[str]]]:
    """The first Markdown table under ``## heading``: first cell -> the other cells, split."""
    lines = PAGE.read_text().splitlines()
    assert f"## {heading}" in lines, f"{PAGE.name} has no '## {heading}' section"
    rows: dict[str, list[list[str]]] = {}
    for line in lines[lines.index(f"## {heading}") + 1 :]:
        if line.startswith("#"):
            break
        if not line.startswith("|") or set(line) <= set("|- :"):
            continue
        first, *rest = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[first.strip("`")] = [cells(cell) for cell in rest]
    rows.pop(next(iter(rows)))  # the header row
    return rows


def package_modules() -> dict[str, str]:
    """Every module of the package (not the ``__init__`` files) -> the layer its path says."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.name == "__init__.py":
            continue
        top = relative.split("/")[0]
        modules[relative] = "cli" if relative in ENTRY_POINTS else top
    return modules


def job_of(module: str | None, name: str) -> str | None:
    """``from .jobs import train`` -> ``jobs/train.py``; ``from .jobs.serving import app`` ->
    ``jobs/serving/``; anything else -> None."""
    parts = (module or "").removeprefix(f"{PACKAGE_NAME}.").split(".")
    if parts[0] != "jobs":
        return None
    job = parts[1] if len(parts) > 1 else name
    return f"jobs/{job}/" if (PACKAGE / "jobs" / job).is_dir() else f"jobs/{job}.py"


# Names that cli.py imports at module level -> the job module they are (or None).
CLI_IMPORTS = {
    (alias.asname or alias.name): job_of(node.module, alias.name)
    for node in ast.parse(inspect.getsource(cli)).body
    if isinstance(node, ast.ImportFrom)
    for alias in node.names
}


def jobs_used(function: Any) -> set[str]:
    """The job modules a command's function imports, or uses from cli.py's own imports."""
    used = set()
    for node in ast.walk(ast.parse(inspect.getsource(function))):
        if isinstance(node, ast.ImportFrom):
            used |= {job_of(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Name):
            used.add(CLI_IMPORTS.get(node.id))
    return {job for job in used if job is not None}


def stages() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())
    return loaded["stages"]


def test_the_layers_are_the_import_contract() -> None:
    """The layers the page names, top to bottom, are the ones `make lint` enforces."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    contracts = project["tool"]["importlinter"]["contracts"]
    (layered,) = [contract for contract in contracts if contract["type"] == "layers"]
    layers = [layer.removeprefix(f"{PACKAGE_NAME}.") for layer in layered["layers"]]
    assert " -> ".join(layers) in PAGE.read_text()


def test_every_module_is_on_the_page_in_its_layer() -> None:
    documented = {module: columns[0] for module, columns in table("Modules").items()}
    actual = package_modules()
    outside = sorted(m for m, layer in actual.items() if layer not in {"cli", "core", "io", "jobs"})
    assert not outside, f"modules outside the four layers: {outside}; move them to a layer"
    missing, stale = sorted(set(actual) - set(documented)), sorted(set(documented) - set(actual))
    assert not missing, f"modules missing from the page: {missing}"
    assert not stale, f"modules on the page that do not exist: {stale}"
    wrong = {m: (documented[m], [layer]) for m, layer in actual.items() if documented[m] != [layer]}
    assert not wrong, f"wrong layer on the page (page, code): {wrong}"


def test_every_command_maps_to_its_job_module(cli_commands: dict[str, Any]) -> None:
    documented = table("Commands and stages")
    difference = sorted(set(cli_commands) ^ set(documented))
    assert not difference, f"commands on the page or in cli.py, not both: {difference}"
    wrong = {
        name: (sorted(documented[name][1]), sorted(jobs_used(function)))
        for name, function in cli_commands.items()
        if set(documented[name][1]) != jobs_used(function)
    }
    assert not wrong, f"job modules (page, cli.py): {wrong}"


def test_every_stage_maps_to_its_command_and_config_groups() -> None:
    documented = table("Commands and stages")
    on_page = {columns[0][0]: name for name, columns in documented.items() if columns[0]}
    run_by = {name: spec["cmd"].removeprefix(f"{PACKAGE_NAME} ") for name, spec in stages().items()}
    assert on_page == run_by, "stage -> command (page, dvc.yaml)"
    wrong = {}
    for stage, spec in stages().items():
        groups = sorted({str(key).split(".")[0] for key in spec.get("params", [])})
        if sorted(documented[run_by[stage]][2]) != groups:
            wrong[stage] = (documented[run_by[stage]][2], groups)
    assert not wrong, f"config groups (page, dvc.yaml params): {wrong}"


def test_every_config_group_on_the_page_exists() -> None:
    composed = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    named = {group for columns in table("Commands and stages").values() for group in columns[2]}
    unknown = sorted(named - set(composed))
    assert not unknown, f"config groups on the page but not in conf/: {unknown}"
