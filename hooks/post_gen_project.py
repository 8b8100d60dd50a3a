"""Shape the freshly rendered project: drop what the options exclude, then make it a git repo.

Cookiecutter renders this file with Jinja and runs it inside the new project, so it must be
self-contained. The logic lives in plain functions that the template's tests load by path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def excluded_paths(options: Mapping[str, str]) -> list[str]:
    """Paths (relative to the project root) that the chosen options leave out."""
    package_dir = f"src/{options['package_name']}"
    ci = options["ci_provider"]
    api = options["include_api"] == "yes"
    docker = options["include_docker"] == "yes"
    rules = [
        (".github", ci != "github"),
        (".gitlab-ci.yml", ci != "gitlab"),
        ("azure-pipelines.yml", ci != "azure-devops"),
        ("Dockerfile", not docker),
        (".dockerignore", not docker),
        ("docker-compose.yml", not docker),
        ("deploy/k8s", not (api and docker)),  # deploys the API's image
        (f"{package_dir}/jobs/serving", not api),
        (f"{package_dir}/core/routing.py", not api),
        ("tests/jobs/serving", not api),
        ("tests/core/test_routing.py", not api),
        ("conf/serve", not api),
    ]
    return [path for path, excluded in rules if excluded]


def remove_paths(root: Path, paths: list[str]) -> None:
    """Delete each path that exists; files and whole directories alike."""
    for relative in paths:
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def git_identity_args(author_name: str, author_email: str, cwd: Path) -> list[str]:
    """Use the user's git identity when set, else the project's author, for the first commit."""
    configured = subprocess.run(
        ["git", "config", "user.email"], cwd=cwd, capture_output=True, text=True, check=False
    )
    if configured.stdout.strip():
        return []
    return ["-c", f"user.name={author_name}", "-c", f"user.email={author_email}"]


def init_git(root: Path, author_name: str, author_email: str) -> str:
    """Create the repository with one initial commit; return what happened, for the user."""
    if shutil.which("git") is None:
        return "git is not installed: skipped 'git init'. Run it yourself before 'make setup'."
    if (root / ".git").exists():
        return "Already a git repository: left as it is."
    identity = git_identity_args(author_name, author_email, root)
    commands = [
        ["git", "init", "--quiet", "-b", "main"],
        ["git", "add", "--all"],
        [
            "git",
            *identity,
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "Initial commit from the template",
        ],
    ]
    for command in commands:
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit code {result.returncode}"
            return (
                f"'{' '.join(command)}' failed ({reason}): the project is there, without a commit."
            )
    return "Initialised a git repository on branch 'main' with an initial commit."


def rendered_options() -> dict[str, str]:
    """The options as cookiecutter rendered them into this file (only valid once rendered)."""
    return {
        "project_slug": {{cookiecutter.project_slug | tojson}},  # noqa: F821
        "package_name": {{cookiecutter.package_name | tojson}},  # noqa: F821
        "author_name": {{cookiecutter.author_name | tojson}},  # noqa: F821
        "author_email": {{cookiecutter.author_email | tojson}},  # noqa: F821
        "ci_provider": {{cookiecutter.ci_provider | tojson}},  # noqa: F821
        "include_api": {{cookiecutter.include_api | tojson}},  # noqa: F821
        "include_docker": {{cookiecutter.include_docker | tojson}},  # noqa: F821
        # Only cruft sets it: the commit of the template being rendered.
        "_commit": {{cookiecutter.get("_commit", "") | tojson}},  # noqa: F821
    }


def next_steps(slug: str, *, by_cruft: bool) -> str:
    """What the user runs next; under cruft, first the commit that includes `.cruft.json`."""
    if not by_cruft:
        return f"Next: cd {slug} && make setup && make pipeline"
    return (
        "Rendered by cruft: no git commit made here, as cruft writes .cruft.json (the link to\n"
        "the template) after this step. In a new project, make the first commit, with it:\n"
        f"  cd {slug} && git init -b main && git add --all"
        " && git commit -m 'Initial commit from the template'\n"
        "  make setup && make pipeline"
    )


def main() -> int:
    options = rendered_options()
    root = Path.cwd()
    remove_paths(root, excluded_paths(options))
    # cruft adds the template's commit to the context. It also renders the template twice in
    # every `cruft update` to diff old and new: a .git there would end up in the diff.
    by_cruft = bool(options["_commit"])
    if not by_cruft:
        print(init_git(root, options["author_name"], options["author_email"]))
    print(f"\n{next_steps(options['project_slug'], by_cruft=by_cruft)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
