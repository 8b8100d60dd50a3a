"""The deployment files: the team stack (deploy/team/) and the Kubernetes manifests (deploy/k8s/).

There is no Docker engine and no cluster here or in CI, so they are validated, not run: the
compose file against the Compose spec, the MLflow image by hadolint, and every Kubernetes
overlay, rendered by the project's own `make deploy-manifests` (kubectl's built-in kustomize, a
dev dependency), against the Kubernetes schemas (kubernetes-validate) and by checkov. checkov
runs once for all manifests, in an environment of its own (its `packaging` pin conflicts with
pytest's): `uv run --isolated --only-group checkov`, from the template's lock. `make deploy`
itself runs with stand-ins for docker and kubectl that record what they are asked to do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from uv import find_uv_bin

from helpers import DEFAULT_PACKAGE, DEFAULT_SLUG, TEMPLATE, project_env, render, run
from servers import S3Server

KUBECTL = Path(sysconfig.get_path("scripts")) / "kubectl"
REGISTRY = "registry.example.com/acme"
DIGEST = "sha256:" + "0123456789abcdef" * 4
ENVIRONMENTS = ("staging", "production")
MODES = ("shadow", "canary")
# The Kubernetes releases the manifests must fit: a few back, and the newest the validator knows.
K8S_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
TEAM = "deploy/team"
SECRET_NAME = re.compile(r"PASSWORD|SECRET")
PLACEHOLDER = "change-me"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("deploy"))


def load_all(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [document for document in documents if document["kind"] == kind]
    return found


def make(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run(["make", "--no-print-directory", *args], project, env=env or project_env())
    return result.stdout + result.stderr


# --- Kubernetes: every overlay and mode, rendered as `make deploy` renders it ----------------


@pytest.fixture(scope="module")
def manifests(project: Path) -> dict[str, list[dict[str, Any]]]:
    """Each environment by `make deploy-manifests` (image by digest), and each with each mode."""
    rendered = {}
    for env in ENVIRONMENTS:
        make(
            project,
            "deploy-manifests",
            f"ENV={env}",
            f"REGISTRY={REGISTRY}",
            f"IMAGE_DIGEST={DIGEST}",
            f"KUBECTL={KUBECTL}",
        )
        rendered[env] = load_all(project / "build" / "k8s" / env / "manifests.yaml")
        for mode in MODES:
            # An overlay that switches the mode on, as a user does in overlays/<env>.
            overlay = project / "build" / "k8s" / f"{env}-{mode}"
            overlay.mkdir()
            (overlay / "kustomization.yaml").write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "kustomize.config.k8s.io/v1beta1",
                        "kind": "Kustomization",
                        "resources": [f"../{env}"],
                        "components": [f"../../../deploy/k8s/components/{mode}"],
                    }
                )
            )
            output = run([str(KUBECTL), "kustomize", str(overlay)], project).stdout
            rendered[f"{env}-{mode}"] = [doc for doc in yaml.safe_load_all(output) if doc]
    return rendered


def test_every_manifest_fits_the_kubernetes_schemas(
    manifests: dict[str, list[dict[str, Any]]],
) -> None:
    kinds = Counter(doc["kind"] for doc in manifests["production"])
    assert kinds == {
        "ConfigMap": 1,
        "Deployment": 1,
        "Service": 1,
        "HorizontalPodAutoscaler": 1,
        "PodDisruptionBudget": 1,
        "NetworkPolicy": 1,
    }
    for name, documents in manifests.items():
        for document in documents:
            for version in K8S_VERSIONS:
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    kind = document["kind"]
                    pytest.fail(f"{name}: {kind} does not fit Kubernetes {version}: {error}")


def test_checkov_finds_no_failed_check(
    manifests: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """Every check passes, or is skipped in the manifest with its reason."""
    for name, documents in manifests.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(documents))
    command = [
        *(find_uv_bin(), "run", "--locked", "--isolated", "--only-group", "checkov"),
        *("checkov", "--directory", str(tmp_path), "--framework", "kubernetes"),
        *("--skip-download", "--output", "json"),
    ]
    result = subprocess.run(
        command, cwd=TEMPLATE, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.stdout.startswith(("{", "[")), result.stdout + result.stderr
    report = json.loads(result.stdout)
    (report,) = report if isinstance(report, list) else [report]
    summary, results = report["summary"], report["results"]
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in results["failed_checks"]]
    assert not failed, f"checkov: {failed}"
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= sum(len(docs) for docs in manifests.values())
    assert summary["passed"] > 50 * len(manifests)
    for skipped in results["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 3, f"{skipped['check_id']} skipped without a reason"


def test_make_deploy_pins_the_image_by_digest(manifests: dict[str, list[dict[str, Any]]]) -> None:
    for documents in manifests.values():
        (container,) = by_kind(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{REGISTRY}/{DEFAULT_SLUG}@{DIGEST}"
        assert container["imagePullPolicy"] == "Always"


def test_without_a_digest_the_commit_tag_stays_a_string(project: Path) -> None:
    """An all-digit short SHA is still a tag (YAML would read it as a number unquoted)."""
    arguments = [f"REGISTRY={REGISTRY}", "IMAGE_TAG=123456789012", f"KUBECTL={KUBECTL}"]
    make(project, "deploy-manifests", "ENV=staging", *arguments)
    documents = load_all(project / "build" / "k8s" / "staging" / "manifests.yaml")
    (container,) = by_kind(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{REGISTRY}/{DEFAULT_SLUG}:123456789012"


def test_each_environment_has_its_namespace_and_size(
    project: Path, manifests: dict[str, list[dict[str, Any]]]
) -> None:
    makefile = (project / "Makefile").read_text()
    assert f"K8S_NAMESPACE = {DEFAULT_SLUG}-$(ENV)" in makefile  # where `deploy` waits
    bounds = {}
    for env in ENVIRONMENTS:
        documents = manifests[env]
        assert {doc["metadata"]["namespace"] for doc in documents} == {f"{DEFAULT_SLUG}-{env}"}
        hpa = by_kind(documents, "HorizontalPodAutoscaler")["spec"]
        bounds[env] = (hpa["minReplicas"], hpa["maxReplicas"])
        deployment = by_kind(documents, "Deployment")["spec"]
        assert "replicas" not in deployment  # the autoscaler owns the count
    assert bounds["staging"] < bounds["production"]
    # A drain takes at most one pod: production keeps serving through it.
    assert by_kind(manifests["production"], "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    assert bounds["production"][0] >= 2


def test_shadow_and_canary_are_config_of_the_same_deployment(
    project: Path, manifests: dict[str, list[dict[str, Any]]]
) -> None:
    serve_modes = {path.stem for path in (project / "conf" / "serve").glob("*.yaml")}
    assert set(MODES) < serve_modes
    for env in ENVIRONMENTS:
        single = by_kind(manifests[env], "Deployment")
        assert by_kind(manifests[env], "ConfigMap")["data"]["SERVE_MODE"] == "single"
        for mode in MODES:
            documents = manifests[f"{env}-{mode}"]
            config_map = by_kind(documents, "ConfigMap")
            assert config_map["data"]["SERVE_MODE"] == mode
            # The same Deployment; only the ConfigMap's name (its content hash) differs.
            text = json.dumps(by_kind(documents, "Deployment"))
            single_name = by_kind(manifests[env], "ConfigMap")["metadata"]["name"]
            assert json.loads(text.replace(config_map["metadata"]["name"], single_name)) == single


def test_the_pod_runs_the_api_as_the_image_and_the_cli_define_it(
    project: Path, manifests: dict[str, list[dict[str, Any]]]
) -> None:
    pod = by_kind(manifests["production"], "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    dockerfile = (project / "Dockerfile").read_text()
    cli = (project / "src" / DEFAULT_PACKAGE / "cli.py").read_text()
    assert container["command"] == [DEFAULT_PACKAGE]
    assert container["args"][:2] == ["serve", "serve=$(SERVE_MODE)"]
    options = [arg.split("=")[0] for arg in container["args"] if arg.startswith("--")]
    assert options == ["--champion", "--host", "--port"]
    serve_command = cli[cli.index("def serve(") :]
    for option in options:
        assert f"    {option.removeprefix('--')}: Annotated[" in serve_command, option
    assert "COPY build/model ./model" in dockerfile and "--champion=/app/model" in container["args"]
    assert "EXPOSE 8000" in dockerfile and "--port=8000" in container["args"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    # Probes: the API's own routes.
    routes = (project / "src" / DEFAULT_PACKAGE / "jobs/serving/routes/operations.py").read_text()
    for probe in ("/ready", "/health"):
        assert re.search(rf'@app\.get\(\s*"{probe}"', routes), probe
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    # Locked down, yet able to write the prediction log where conf/serve puts it.
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user and pod["securityContext"]["runAsUser"] == int(user.group(1))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    log_path = yaml.safe_load((project / "conf" / "serve" / "single.yaml").read_text())["log"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    log_volume = mounts[str(Path("/app") / Path(log_path["path"]).parent)]
    assert {volume["name"] for volume in pod["volumes"]} >= {log_volume, mounts["/tmp"]}


def test_without_kubectl_k8s_manifests_says_how_to_render(project: Path) -> None:
    arguments = [f"REGISTRY={REGISTRY}", "KUBECTL=/nonexistent/kubectl"]
    output = make(project, "deploy-manifests", "ENV=production", *arguments)
    assert "kubectl not found" in output and "kubectl kustomize build/k8s/production" in output
    assert (project / "build" / "k8s" / "production" / "kustomization.yaml").is_file()
    assert not (project / "build" / "k8s" / "production" / "manifests.yaml").exists()


def test_k8s_manifests_refuses_an_unknown_environment(project: Path) -> None:
    result = run(
        ["make", "deploy-manifests", "ENV=prod", f"REGISTRY={REGISTRY}"], project, check=False
    )
    assert result.returncode != 0
    assert "ENV must be one of: staging production (got 'prod')" in result.stderr


# --- `make deploy`, with stand-ins for docker and kubectl ------------------------------------

STAND_IN = """#!/bin/sh
echo "{name} $*" >> "$CALLS"
{body}
"""
FAKE_DOCKER = """if [ "$1 $2" = "image inspect" ]; then
  printf '[{"RepoTags": ["%s"], "RepoDigests": ["%s@%s"]}]\\n' "$3" "${3%:*}" "$DIGEST"
fi"""
# Not in a cluster, not in a CI that annotates warnings, no registry login to do.
NOT_INHERITED = {"KUBERNETES_SERVICE_HOST", "GITHUB_ACTIONS", "TF_BUILD", "REGISTRY_PASSWORD"}
# `kustomize` is the real one; with CLUSTER empty there is no cluster (no current context).
FAKE_KUBECTL = """case "$1" in
  kustomize) exec "$REAL_KUBECTL" "$@";;
  config) [ -n "$CLUSTER" ];;
esac"""


@pytest.fixture
def deploy(project: Path, tmp_path: Path) -> Any:
    """Run `make deploy ENV=...` with the stand-ins; return (output, the commands they got)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("docker", FAKE_DOCKER), ("kubectl", FAKE_KUBECTL)):
        path = bin_dir / name
        path.write_text(STAND_IN.format(name=name, body=body))
        path.chmod(0o755)
    calls = tmp_path / "calls.log"

    def make_deploy(env: str, *, cluster: bool) -> tuple[str, list[str]]:
        environment = {k: v for k, v in project_env().items() if k not in NOT_INHERITED}
        environment.update(
            PATH=f"{bin_dir}:{environment['PATH']}",
            CALLS=str(calls),
            DIGEST=DIGEST,
            REAL_KUBECTL=str(KUBECTL),
            CLUSTER="yes" if cluster else "",
        )
        calls.write_text("")
        arguments = [f"ENV={env}", f"REGISTRY={REGISTRY}", "IMAGE_TAG=abc123"]
        output = make(project, "deploy", *arguments, env=environment)
        return output, calls.read_text().splitlines()

    return make_deploy


def test_make_deploy_tags_applies_and_waits(project: Path, deploy: Any) -> None:
    output, calls = deploy("production", cluster=True)
    image = f"{REGISTRY}/{DEFAULT_SLUG}"
    manifests = "build/k8s/production/manifests.yaml"
    assert calls[:3] == [
        f"docker pull {image}:abc123",
        f"docker tag {image}:abc123 {image}:production",
        f"docker push {image}:production",
    ]
    assert f"kubectl apply -f {manifests}" in calls
    namespace = f"{DEFAULT_SLUG}-production"
    wait = f"kubectl --namespace {namespace} rollout status deployment/{DEFAULT_SLUG}"
    assert calls[-1].startswith(wait)
    assert calls.index(f"kubectl apply -f {manifests}") < len(calls) - 1
    deployment = by_kind(load_all(project / manifests), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{image}@{DIGEST}"
    assert "WARNING" not in output


def test_make_deploy_without_a_cluster_tags_and_warns(deploy: Any) -> None:
    output, calls = deploy("staging", cluster=False)
    assert f"docker push {REGISTRY}/{DEFAULT_SLUG}:staging" in calls
    assert not [call for call in calls if call.startswith(("kubectl apply", "kubectl --name"))]
    assert "WARNING: kubectl has no cluster (set KUBECONFIG)" in output
    assert "kubectl apply -k build/k8s/staging" in output


# --- Which renders have what --------------------------------------------------------------


@pytest.mark.parametrize("option", ["include_api", "include_docker"])
def test_kubernetes_files_need_the_api_and_its_image(option: str, tmp_path: Path) -> None:
    """No API or no image: nothing to deploy on Kubernetes; the team stack is always there."""
    other = render(tmp_path, **{option: "no"})
    assert not (other / "deploy" / "k8s").exists()
    assert "deploy-manifests" not in (other / "Makefile").read_text()
    assert "deploy/k8s" not in (other / "README.md").read_text()
    assert (other / TEAM / "compose.yml").is_file()


# --- The team stack ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose(project: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((project / TEAM / "compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def env_example(project: Path) -> dict[str, str]:
    lines = (project / TEAM / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return dict(pairs)


def test_compose_file_fits_the_compose_spec(project: Path) -> None:
    schema = ["--builtin-schema", "vendor.compose-spec"]
    run([sys.executable, "-m", "check_jsonschema", *schema, f"{TEAM}/compose.yml"], project)


def test_mlflow_dockerfile_passes_hadolint(project: Path) -> None:
    hadolint = Path(sysconfig.get_path("scripts")) / "hadolint"
    command = [str(hadolint), "--no-color", "--failure-threshold", "style", "mlflow.Dockerfile"]
    result = run(command, project / TEAM, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_server_runs_the_projects_mlflow(project: Path, compose: dict[str, Any]) -> None:
    """Client and server of one version: they agree on the database schema."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    pins = pyproject["tool"]["uv"]["constraint-dependencies"]
    (version,) = [pin.split("==")[1] for pin in pins if pin.startswith("mlflow==")]
    dockerfile = (project / TEAM / "mlflow.Dockerfile").read_text()
    assert f"ARG MLFLOW_VERSION={version}\n" in dockerfile
    for name in ("mlflow", "init"):
        assert compose["services"][name]["image"].endswith(f"-mlflow:{version}"), name
        assert compose["services"][name]["pull_policy"] == "build"


def test_mlflow_runs_on_postgres_and_s3_with_login(compose: dict[str, Any]) -> None:
    mlflow = compose["services"]["mlflow"]
    command = " ".join(mlflow["command"])
    assert "--app-name=basic-auth" in command
    assert "--backend-store-uri=postgresql+psycopg://mlflow@postgres:5432/mlflow" in command
    assert "--artifacts-destination=s3://" in command
    assert mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://s3:8333"
    assert mlflow["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "init": {"condition": "service_completed_successfully"},
    }
    assert compose["services"]["init"]["depends_on"] == {"s3": {"condition": "service_healthy"}}


def test_services_are_health_checked_and_keep_data_in_named_volumes(
    project: Path, compose: dict[str, Any]
) -> None:
    for name, service in compose["services"].items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
        if service.get("restart") != "no":  # a one-shot job has no health to check
            assert service["healthcheck"]["test"], name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):  # a file of deploy/team, mounted read-only
                assert (project / TEAM / source).is_file() and volume.endswith(":ro"), volume
            else:
                assert source in compose["volumes"], volume
        for port in service.get("ports", []):
            assert port.startswith("${BIND_ADDRESS:-127.0.0.1}:"), port  # loopback unless asked


def test_no_secret_is_committed(project: Path, compose: dict[str, Any]) -> None:
    example = env_example(project)
    # Every setting the compose file reads is documented in .env.example ...
    used = set(re.findall(r"\$\{(\w+)", (project / TEAM / "compose.yml").read_text()))
    assert used == set(example), used ^ set(example)
    # ... every secret there is a placeholder, and the compose file has no default for it.
    secrets = {key for key in example if SECRET_NAME.search(key)}
    assert secrets >= {"POSTGRES_PASSWORD", "S3_SECRET_KEY", "MLFLOW_ADMIN_PASSWORD"}
    assert {key: example[key] for key in secrets} == dict.fromkeys(secrets, PLACEHOLDER)
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), (name, key, value)
    # The filled-in copy is ignored by git, the template is not.
    run(["git", "check-ignore", "--quiet", f"{TEAM}/.env"], project)
    assert run(["git", "check-ignore", f"{TEAM}/.env.example"], project, check=False).returncode


def test_no_file_under_deploy_holds_a_random_looking_value(project: Path) -> None:
    """A pasted key, token or password: 32+ hex digits, or 20+ characters of base64 mixing
    digits, lower and upper case (paths, names and image tags never do)."""
    classes = (r"\d", "[a-z]", "[A-Z]")
    for path in sorted((project / "deploy").rglob("*")):
        if path.is_file():
            for token in re.findall(r"[A-Za-z0-9+/=]{20,}", path.read_text()):
                hex_key = re.fullmatch(r"[0-9a-f]{32,}", token)
                base64_key = all(re.search(pattern, token) for pattern in classes)
                assert not (hex_key or base64_key), f"{path.relative_to(project)}: {token}"


def test_init_refuses_placeholder_secrets(project: Path) -> None:
    env = {**project_env(), **dict.fromkeys(("POSTGRES_PASSWORD", "MLFLOW_SECRET_KEY"), "x" * 24)}
    env.update(MLFLOW_ADMIN_PASSWORD=PLACEHOLDER, AWS_SECRET_ACCESS_KEY="short")
    script = project / TEAM / "init_stack.py"
    result = run([sys.executable, str(script)], project, env=env, check=False)
    assert result.returncode == 2
    assert "set AWS_SECRET_ACCESS_KEY, MLFLOW_ADMIN_PASSWORD to random values" in result.stderr


def test_init_creates_the_buckets_once(project: Path, s3_server: S3Server) -> None:
    env = {**project_env(), **s3_server.credentials, "MLFLOW_S3_ENDPOINT_URL": s3_server.endpoint}
    env.update(dict.fromkeys(("POSTGRES_PASSWORD", "MLFLOW_ADMIN_PASSWORD"), "p" * 24))
    env.update(MLFLOW_SECRET_KEY="k" * 24, AWS_SECRET_ACCESS_KEY="s" * 24)
    env["BUCKETS"] = "deploy-test-mlflow deploy-test-dvc"
    script = project / TEAM / "init_stack.py"
    for _ in range(2):  # again: nothing to do, no error
        result = run([sys.executable, str(script)], project, env=env)
        assert result.stdout.splitlines() == [
            "bucket deploy-test-mlflow: ready",
            "bucket deploy-test-dvc: ready",
        ]
    names = {bucket["Name"] for bucket in s3_server.client().list_buckets()["Buckets"]}
    assert {"deploy-test-mlflow", "deploy-test-dvc"} <= names


def test_team_config_only_changes_where_tracking_goes(project: Path) -> None:
    """conf/mlflow/team.yaml has the fields of default.yaml (MlflowConfig rejects others)."""
    default, team = (
        yaml.safe_load((project / "conf" / "mlflow" / f"{name}.yaml").read_text())
        for name in ("default", "team")
    )
    assert set(team) == set(default)
    assert team["tracking_uri"].startswith("http")
    assert team["registered_model_name"] == default["registered_model_name"]
    text = (project / "conf" / "mlflow" / "team.yaml").read_text()
    assert "@" not in team["tracking_uri"] and "PASSWORD=" not in text  # no login in a file
