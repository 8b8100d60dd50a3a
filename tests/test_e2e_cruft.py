"""Template updates with cruft, end to end: create, check, update, and the project still works.

A git copy of the template is the "upstream". A project is created from its first commit with
`cruft create`, committed as the hook's message says, and changed locally. Then the template
gets a second commit (a README section and a Makefile target): `cruft check` and
`make template-check` see it, `cruft update` merges it, the local change survives, and the
updated project is exactly a fresh project of the new template plus the local change (so the
suite a fresh project passes, run by test_e2e_quality, is its suite too); it sets up and
passes its checks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import TEMPLATE, project_files, render, run

pytestmark = pytest.mark.e2e

MAKEFILE = TEMPLATE / "{{cookiecutter.project_slug}}" / "Makefile"
# The generated Makefile pins cruft; the test uses the same version.
CRUFT_VERSION = re.search(r"^CRUFT_VERSION := (\S+)$", MAKEFILE.read_text(), re.MULTILINE)[1]
TEMPLATE_PARTS = ["cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}"]
JUNK = shutil.ignore_patterns("__pycache__", ".venv", ".*_cache", "*.pyc")

SLUG, PACKAGE = "cruft-check", "cruft_check"  # from the project_name given to `cruft create`
LOCAL_LINE = "Owned by the cruft test team."
NEW_SECTION = "## Added in template v2\n\nThis section came from a later template commit.\n"
NEW_TARGET = (
    "\ntemplate-v2: ## A target added in template v2\n"
    "\t@echo 'template v2 for {{ cookiecutter.package_name }}'\n"
)


@dataclass
class Upgrade:
    """What happened along the way, for the tests to check one promise each."""

    template: Path
    project: Path
    env: dict[str, str]
    first_commit: str
    second_commit: str
    created_state: dict
    hook_made_a_repository: bool
    check_up_to_date: tuple[int, str]
    check_outdated: tuple[int, str]
    make_check_outdated: tuple[int, str]
    status_after_update: str


def cruft(cwd: Path, env: dict[str, str], *args: str, check: bool = True):
    command = ["uv", "tool", "run", "--from", f"cruft=={CRUFT_VERSION}", "cruft", *args]
    return run(command, cwd, env=env, check=check)


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return run(["git", *args], cwd, env=env).stdout.strip()


def copy_template(target: Path, env: dict[str, str]) -> str:
    """The template's working tree as a one-commit git repository; returns the commit."""
    target.mkdir()
    for part in TEMPLATE_PARTS:
        source = TEMPLATE / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=JUNK)
        else:
            shutil.copy2(source, target / part)
    git(target, env, "init", "--quiet", "-b", "main")
    git(target, env, "add", "--all")
    git(target, env, "commit", "--quiet", "-m", "Template v1")
    return git(target, env, "rev-parse", "HEAD")


def create(root: Path, env: dict[str, str], template: Path) -> tuple[Path, str]:
    """`cruft create` from the template's current commit: the project, and what cruft printed."""
    extra = json.dumps({"project_name": "Cruft Check"})
    created = cruft(root, env, "create", "--no-input", "--default-config", "--extra-context",
                    extra, "--output-dir", str(root), str(template))  # fmt: skip
    return root / SLUG, created.stdout


def outcome(result) -> tuple[int, str]:
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory, uv_env: dict[str, str]) -> Upgrade:
    root = tmp_path_factory.mktemp("cruft")
    env = {key: value for key, value in uv_env.items() if key not in {"GITHUB_ACTIONS", "TF_BUILD"}}
    template = root / "template"
    first = copy_template(template, env)

    # Create, then the first commit as the post-generation hook tells cruft users to.
    project, created = create(root, env, template)
    assert "git init -b main && git add --all && git commit" in created
    hook_made_a_repository = (project / ".git").exists()
    state = json.loads((project / ".cruft.json").read_text())
    git(project, env, "init", "--quiet", "-b", "main")
    git(project, env, "add", "--all")
    git(project, env, "commit", "--quiet", "-m", "Initial commit from the template")

    # A local change the update must keep.
    readme = project / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    readme.write_text("".join([*lines[:3], f"{LOCAL_LINE}\n", "\n", *lines[3:]]))
    git(project, env, "commit", "--quiet", "-am", "Say who owns the project")
    up_to_date = outcome(run(["make", "template-check"], project, env=env))

    # The template moves on.
    generated = template / "{{cookiecutter.project_slug}}"
    with (generated / "README.md").open("a") as file:
        file.write(f"\n{NEW_SECTION}")
    with (generated / "Makefile").open("a") as file:
        file.write(NEW_TARGET)
    git(template, env, "commit", "--quiet", "-am", "Template v2")
    second = git(template, env, "rev-parse", "HEAD")

    outdated = outcome(cruft(project, env, "check", check=False))
    make_outdated = outcome(
        run(["make", "template-check"], project, env={**env, "GITHUB_ACTIONS": "true"})
    )

    cruft(project, env, "update", "--skip-apply-ask")
    status_after_update = run(["git", "status", "--porcelain"], project, env=env).stdout
    return Upgrade(
        template=template,
        project=project,
        env=env,
        first_commit=first,
        second_commit=second,
        created_state=state,
        hook_made_a_repository=hook_made_a_repository,
        check_up_to_date=up_to_date,
        check_outdated=outdated,
        make_check_outdated=make_outdated,
        status_after_update=status_after_update,
    )


def test_cruft_create_records_the_template_commit_and_options(upgrade: Upgrade) -> None:
    state = upgrade.created_state
    assert state["template"] == str(upgrade.template)
    assert state["commit"] == upgrade.first_commit
    options = state["context"]["cookiecutter"]
    assert (options["project_slug"], options["package_name"]) == (SLUG, PACKAGE)
    # Under cruft the hook leaves git to the user, so .cruft.json goes into the first commit.
    assert not upgrade.hook_made_a_repository


def test_template_check_passes_while_up_to_date(upgrade: Upgrade) -> None:
    returncode, output = upgrade.check_up_to_date
    assert returncode == 0
    assert "up to date" in output
    assert "WARNING" not in output


def test_cruft_check_fails_and_make_template_check_warns_when_the_template_moved_on(
    upgrade: Upgrade,
) -> None:
    returncode, output = upgrade.check_outdated
    assert returncode == 1
    assert "out of date" in output
    returncode, output = upgrade.make_check_outdated
    assert returncode == 0, output
    assert "::warning title=Project template::" in output
    assert "make template-update" in output


def test_cruft_update_applies_the_change_and_keeps_local_edits(upgrade: Upgrade) -> None:
    project, env = upgrade.project, upgrade.env
    changed = sorted(line[3:] for line in upgrade.status_after_update.splitlines())
    assert changed == [".cruft.json", "Makefile", "README.md"]
    readme = (project / "README.md").read_text()
    assert NEW_SECTION in readme
    assert LOCAL_LINE in readme
    result = run(["make", "template-v2"], project, env=env)
    assert result.stdout.strip() == f"template v2 for {PACKAGE}"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == upgrade.second_commit
    assert state["context"]["cookiecutter"]["project_slug"] == SLUG

    git(project, env, "commit", "--quiet", "-am", "Update from the template")
    assert "up to date" in outcome(cruft(project, env, "check"))[1]


def test_updated_project_is_a_fresh_project_of_the_new_template_plus_local_edits(
    upgrade: Upgrade, tmp_path: Path
) -> None:
    """So it passes its tests: a fresh default project's own suite runs in test_e2e_quality."""
    fresh, _ = create(tmp_path, upgrade.env, upgrade.template)
    updated = upgrade.project
    files = project_files(updated)
    assert files == project_files(fresh)
    differing = sorted(
        name for name in files if (updated / name).read_bytes() != (fresh / name).read_bytes()
    )
    assert differing == ["README.md"]  # .cruft.json too is the same: commit and options
    lines = (fresh / "README.md").read_text().splitlines(keepends=True)
    assert (updated / "README.md").read_text() == "".join(
        [*lines[:3], f"{LOCAL_LINE}\n", "\n", *lines[3:]]
    )


def test_updated_project_sets_up_and_passes_its_checks(
    upgrade: Upgrade, default_environment: Path
) -> None:
    project, env = upgrade.project, upgrade.env
    # The locked environment of a default project, hard-linked: `make setup` then installs
    # this project into it and syncs it to this project's lock, as it would from scratch.
    shutil.copytree(default_environment, project / ".venv", symlinks=True, copy_function=os.link)
    run(["make", "setup"], project, env=env)
    run(["make", "lint"], project, env=env)
    result = run(["uv", "run", "--no-sync", PACKAGE, "--help"], project, env=env)
    assert "release" in result.stdout


def test_template_check_without_cruft_json_explains_and_passes(
    tmp_path: Path, uv_env: dict[str, str]
) -> None:
    project = render(tmp_path)  # plain cookiecutter: no .cruft.json
    result = run(["make", "template-check"], project, env=uv_env)
    assert "not linked to its template" in result.stdout
    assert f"uvx cruft=={CRUFT_VERSION} link" in result.stdout
