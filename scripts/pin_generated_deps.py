"""`make pin`: resolve the generated project's dependencies and pin them in the template.

Renders the template, enables every optional dependency, resolves with uv (latest versions
inside the ranges of the generated pyproject.toml) and writes every resolved package, exactly
pinned, into ``[tool.uv] constraint-dependencies`` of the template's pyproject.toml. The
generated project then installs exactly the versions the template's tests run with.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from collections import defaultdict
from pathlib import Path

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

TEMPLATE = Path(__file__).resolve().parent.parent
TARGET = TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml"
BEGIN = "constraint-dependencies = ["
ALL_REMOTES = '"dvc[s3,gcs,azure]>='


def resolve(workdir: Path) -> dict[str, list[tuple[str, str]]]:
    """Render, widen to every optional dependency, lock; return package -> (version, marker)."""
    project = Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(workdir), default_config=True)
    )
    pyproject = project / "pyproject.toml"
    text = re.sub(r"(?s)\n\[tool\.uv\]\n.*?\n\]\n", "\n", pyproject.read_text())
    text = text.replace('"dvc>=', ALL_REMOTES, 1)
    pyproject.write_text(text)
    subprocess.run([find_uv_bin(), "lock", "--quiet"], cwd=project, check=True)
    lock = tomllib.loads((project / "uv.lock").read_text())
    versions: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for package in lock["package"]:
        if package.get("source", {}).get("editable") or package.get("source", {}).get("virtual"):
            continue
        marker = " or ".join(package.get("resolution-markers", []))
        versions[package["name"]].append((package["version"], marker))
    return versions


def constraints_block(versions: dict[str, list[tuple[str, str]]]) -> str:
    """One exact pin per package; where uv split by Python version, one per marker."""
    lines = []
    for name in sorted(versions):
        found = versions[name]
        if len(found) == 1:
            lines.append(f'    "{name}=={found[0][0]}",')
        else:
            pins = by_python(found)
            lines.extend(f'    "{name}=={version}; {marker}",' for version, marker in pins)
    return BEGIN + "\n" + "\n".join(lines) + "\n]"


def by_python(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Turn uv's resolution markers into plain Python-version ranges, oldest Python first.

    uv splits a package by Python version when a newer release dropped an old Python; each
    entry's marker then bounds ``python_full_version`` from above (all but the newest).
    """
    ordered = sorted(found, key=lambda item: [int(part) for part in re.findall(r"\d+", item[0])])
    ranges, lower = [], None
    for index, (version, marker) in enumerate(ordered):
        uppers = re.findall(r"python_full_version < '([\d.]+)'", marker)
        upper = max(uppers, key=lambda v: tuple(map(int, v.split(".")))) if uppers else None
        parts = [f"python_version >= '{lower}'"] if lower else []
        if upper and index < len(ordered) - 1:
            parts.append(f"python_version < '{upper}'")
        ranges.append((version, " and ".join(parts)))
        lower = upper
    return ranges


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        versions = resolve(Path(workdir))
    text = TARGET.read_text()
    updated = re.sub(r"(?s)constraint-dependencies = \[.*?\n\]", constraints_block(versions), text)
    if updated == text and BEGIN not in text:
        print(f"{TARGET} has no '{BEGIN}' block to update", file=sys.stderr)
        return 1
    TARGET.write_text(updated)
    print(f"pinned {len(versions)} packages in {TARGET.relative_to(TEMPLATE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
