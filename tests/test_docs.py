"""The documentation sites build cleanly: the template's, and the one each generated project
ships; the docs keep up with the template they document, and no generated link is broken."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DEFAULTS, TEMPLATE, project_files, render

DOCS = TEMPLATE / "docs"
OPTIONS_PAGE = DOCS / "options.md"
OPTIONS = [key for key in DEFAULTS if not key.startswith("_")]
CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
# `make X` as a command: an inline code span, or a line (or a `&&`/`;` part) of a code block.
MAKE_TARGET = re.compile(r"(?:^|`|&&|;)\s*make ([a-z][a-z0-9-]*)", re.MULTILINE)
MAKE_RULE = re.compile(r"^([a-zA-Z][\w-]*):", re.MULTILINE)


def make_targets(makefile: Path) -> set[str]:
    return set(MAKE_RULE.findall(makefile.read_text()))


def mkdocs_build(config_file: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config_file),
            "--site-dir",
            str(site),
        ],
        cwd=config_file.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_site_builds_strictly(tmp_path: Path) -> None:
    """Broken links, anchors, nav entries or pages missing from the nav fail the build."""
    site = tmp_path / "site"
    result = mkdocs_build(TEMPLATE / "mkdocs.yml", site)
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


# --- The generated project's own docs, in renders that between them take every branch of the
# options the docs depend on (API, Docker, CI provider, DVC remote).
GENERATED_VARIANTS = {
    "defaults": {},
    "gitlab-s3-no-docker": {"ci_provider": "gitlab", "dvc_remote": "s3", "include_docker": "no"},
    "azure-no-api": {"ci_provider": "azure-devops", "dvc_remote": "azure", "include_api": "no"},
    "no-ci-gcs-regression": {"ci_provider": "none", "dvc_remote": "gcs", "task": "regression"},
}
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]+\.md\b")
UNSCANNED = {".csv", ".parquet", ".png", ".lock", ".j2"}


@pytest.fixture(scope="module", params=list(GENERATED_VARIANTS))
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp(request.param), **GENERATED_VARIANTS[request.param])


def test_generated_site_builds_strictly(generated: Path, tmp_path: Path) -> None:
    """The project's `make docs`: every page in the nav, every link and anchor resolves."""
    result = mkdocs_build(generated / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    assert (tmp_path / "site" / "architecture" / "index.html").is_file()


def test_every_relative_link_in_generated_files_resolves(generated: Path) -> None:
    """Markdown links, and `docs/<page>.md` named in workflows, comments or prose, all exist."""
    broken = []
    for relative in sorted(project_files(generated)):
        path = generated / relative
        if relative.startswith(("data/sample-remote/", ".dvc/")) or path.suffix in UNSCANNED:
            continue
        text = path.read_text()
        targets = [(generated, mention) for mention in DOCS_PATH.findall(text)]
        if path.suffix == ".md":
            targets += [(path.parent, link) for link in MARKDOWN_LINK.findall(text)]
        for base, target in targets:
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            if not (base / target.partition("#")[0]).exists():
                broken.append(f"{relative}: {target}")
    assert not broken, f"links to files that do not exist: {sorted(set(broken))}"


def test_generated_docs_quote_only_existing_make_targets(generated: Path) -> None:
    """Every `make <target>` in the generated docs and README is a target of its Makefile."""
    targets = make_targets(generated / "Makefile")
    pages = [*sorted((generated / "docs").glob("*.md")), generated / "README.md"]
    quoted = {
        (page.name, target)
        for page in pages
        for code in CODE.findall(page.read_text())
        for target in MAKE_TARGET.findall(code)
    }
    assert quoted, "no `make <target>` found in the generated docs: the pattern no longer matches"
    unknown = sorted((page, target) for page, target in quoted if target not in targets)
    assert not unknown, f"generated docs quote make targets that do not exist: {unknown}"
