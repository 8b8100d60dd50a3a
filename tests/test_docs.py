"""The documentation site builds cleanly and keeps up with the template it documents."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DEFAULTS, TEMPLATE

DOCS = TEMPLATE / "docs"
OPTIONS_PAGE = DOCS / "options.md"
OPTIONS = [key for key in DEFAULTS if not key.startswith("_")]
CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
# `make X` as a command: an inline code span, or a line (or a `&&`/`;` part) of a code block.
MAKE_TARGET = re.compile(r"(?:^|`|&&|;)\s*make ([a-z][a-z-]*)", re.MULTILINE)
MAKE_RULE = re.compile(r"^([a-zA-Z][\w-]*):", re.MULTILINE)


def make_targets(makefile: Path) -> set[str]:
    return set(MAKE_RULE.findall(makefile.read_text()))


def test_site_builds_strictly(tmp_path: Path) -> None:
    """Broken links, anchors, nav entries or pages missing from the nav fail the build."""
    site = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(TEMPLATE / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    assert (site / "index.html").is_file()
    assert (site / "options" / "index.html").is_file()


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_has_a_section(option: str) -> None:
    """Each option has its own heading in options.md, and every choice value is named there."""
    text = OPTIONS_PAGE.read_text()
    assert f"### `{option}`" in text, f"docs/options.md has no '### `{option}`' section"
    choices = DEFAULTS[option]
    if isinstance(choices, list):
        missing = [value for value in choices if f"`{value}`" not in text]
        assert not missing, f"docs/options.md does not name {option} values {missing}"


def test_documented_make_targets_exist() -> None:
    """Every `make <target>` quoted in the docs is a target of the template or the project."""
    targets = make_targets(TEMPLATE / "Makefile") | make_targets(
        TEMPLATE / "{{cookiecutter.project_slug}}" / "Makefile"
    )
    quoted = {
        (page.name, target)
        for page in DOCS.glob("*.md")
        for code in CODE.findall(page.read_text())
        for target in MAKE_TARGET.findall(code)
    }
    assert quoted, "no `make <target>` found in docs/: the pattern no longer matches"
    unknown = sorted((page, target) for page, target in quoted if target not in targets)
    assert not unknown, f"docs quote make targets that do not exist: {unknown}"
