"""The recipes of docs/customising.md, followed literally in a generated project.

The code, YAML and edits are read from the page itself, so the page cannot drift from what
works: a new metric is one registry entry and reaches evaluate, the gate and the model card;
a new model is one YAML file and reaches training and the gate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import DEFAULT_PACKAGE, TEMPLATE, run

pytestmark = pytest.mark.e2e

PAGE = TEMPLATE / "docs" / "customising.md"


def section(title: str) -> str:
    """The text of one `## title` section of the page."""
    text = PAGE.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def blocks(text: str) -> list[str]:
    """Fenced code blocks, without the four spaces that nest them in a list item."""
    found = re.findall(r"\n( *)```\w+\n(.*?)\n *```", text, flags=re.DOTALL)
    return [
        "\n".join(line.removeprefix(indent) for line in body.splitlines()) + "\n"
        for indent, body in found
    ]


def replacements(text: str) -> list[tuple[str, str]]:
    """Every "replace `old` with `new`" step, in order."""
    return re.findall(r"replace\s+`([^`]+)`\s+with\s+`([^`]+)`", text)


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert content.count(old) == 1, f"{old!r} is not exactly once in {path}"
    path.write_text(content.replace(old, new))


def uv(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["uv", "run", "--no-sync", *args], project, env=env, check=check)


@pytest.fixture(scope="module")
def project(setup_project, uv_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    return setup_project("recipes"), uv_env


def test_add_a_metric_reaches_evaluate_the_gate_and_the_card(project) -> None:
    path, env = project
    recipe = section("Add a metric")
    function, entry, test = blocks(recipe)
    metrics = path / "src" / DEFAULT_PACKAGE / "core" / "metrics.py"
    # 1. the function just above METRICS; 2. its entry as the last one of METRICS
    edit(
        metrics,
        "\n\nMETRICS: dict[str, Metric] = {",
        f"\n\n{function}\n\nMETRICS: dict[str, Metric] = {{",
    )
    edit(metrics, "\n    )\n}\n", f"\n{entry}    )\n}}\n")
    # 3. a test at the end of tests/core/test_metrics.py
    tests = path / "tests" / "core" / "test_metrics.py"
    tests.write_text(tests.read_text() + f"\n\n{test}")
    uv(path, env, "pytest", "-q", "tests/core/test_metrics.py")
    uv(path, env, "ruff", "check", str(metrics), str(tests))  # the recipe leaves them lint-clean
    uv(path, env, "ruff", "format", "--check", str(metrics), str(tests))
    uv(path, env, "mypy")

    # 4. make pipeline: the new metric is reported overall and per slice
    run(["make", "pipeline"], path, env=env)
    reported = json.loads((path / "reports" / "metrics.json").read_text())
    assert 0.5 < reported["test"]["balanced_accuracy"] <= 1.0
    slices = json.loads((path / "reports" / "slices.json").read_text())
    assert slices and all("balanced_accuracy" in row for row in slices)

    # 5. gate on it
    ((old, new),) = replacements(recipe)
    edit(path / "conf" / "task" / "classification.yaml", old, new)
    run(["make", "params"], path, env=env)
    run(["make", "release"], path, env=env)
    decision = json.loads((path / "reports" / "gate.json").read_text())
    assert decision["passed"], decision["reason"]
    assert "balanced_accuracy" in decision["reason"]  # the floor rule, on the new metric
    assert "balanced_accuracy" in decision["holdouts"]["test"]["challenger"]
    card = (path / "reports" / "model_card.md").read_text()
    assert "Primary metric: `balanced_accuracy` (higher is better)." in card
    assert "| balanced_accuracy |" in card  # a column of the metrics table


def test_add_a_model_trains_and_meets_the_gate(project) -> None:
    path, env = project
    recipe = section("Add a model")
    (model_yaml, *_) = blocks(recipe)
    # 1. the model file
    (path / "conf" / "model" / "extra_trees.yaml").write_text(model_yaml)
    # 2. every shipped model config builds, the new one for both tasks
    uv(path, env, "pytest", "-q", "tests/core/test_models.py")
    # 3. try it: an MLflow run, models/ left alone
    before = (path / "models" / "run.json").read_text()
    tried = uv(path, env, DEFAULT_PACKAGE, "train", "model=extra_trees")
    assert "trained extra_trees" in tried.stdout
    assert (path / "models" / "run.json").read_text() == before
    # 4. the task's default: trained by the pipeline, then gated against the champion
    ((old, new),) = replacements(recipe)
    edit(path / "conf" / "task" / "classification.yaml", old, new)
    run(["make", "pipeline"], path, env=env)
    trained = json.loads((path / "models" / "run.json").read_text())
    assert trained["model.name"] == "extra_trees"
    released = run(["make", "release"], path, env=env, check=False)
    decision = json.loads((path / "reports" / "gate.json").read_text())
    assert decision["champion"] == "1" and decision["challenger"] == "2", released.stdout
    rules = {rule["rule"]: rule for rule in decision["rules"]}
    assert {"primary_metric", "bootstrap", "slices", "latency", "schema"} <= set(rules)
    assert "balanced_accuracy" in rules["bootstrap"]["reason"]  # the first recipe's metric
    assert released.returncode == (0 if decision["passed"] else 2)  # make: the gate's exit 3
