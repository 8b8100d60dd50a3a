"""imbalance: class weights, and a binary decision threshold tuned on validation rows."""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from {{ cookiecutter.package_name }}.core.config import (
    Config,
    DataConfig,
    ImbalanceConfig,
    ModelConfig,
    parse,
)
from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.core.imbalance import (
    balanced,
    class_weights,
    positive_class,
    thresholded,
    tune_threshold,
)
from {{ cookiecutter.package_name }}.core.models import build_pipeline


def rare(rows: int = 400, share: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One informative input; the class "fraud" is ``share`` of the rows."""
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(rows) < share, "fraud", "ok")
    signal = rng.normal(size=rows) + 1.2 * (labels == "fraud")
    return signal.reshape(-1, 1), labels


def test_balanced_weights_make_every_class_weigh_the_same() -> None:
    target = pd.Series(["ok"] * 90 + ["fraud"] * 10)
    weights = class_weights(target)
    assert weights == {"fraud": 5.0, "ok": pytest.approx(100 / 180)}
    assert weights["fraud"] * 10 == pytest.approx(weights["ok"] * 90)


def test_class_weight_is_part_of_the_estimator() -> None:
    estimator = balanced(LogisticRegression(), "logistic_regression")
    assert estimator.get_params()["class_weight"] == "balanced"
    with pytest.raises(
        ConfigError, match=r"model=knn \(KNeighborsClassifier\) has no class_weight"
    ):
        balanced(KNeighborsClassifier(), "knn")
    with pytest.raises(ConfigError, match="both weigh the classes"):
        balanced(LogisticRegression(class_weight={"ok": 1.0}), "logistic_regression")


def test_weighting_raises_the_recall_of_the_rare_class() -> None:
    inputs, labels = rare()
    plain = LogisticRegression().fit(inputs, labels).predict(inputs)
    weighted = balanced(LogisticRegression(), "lr").fit(inputs, labels).predict(inputs)
    fraud = labels == "fraud"
    assert (weighted[fraud] == "fraud").mean() > (plain[fraud] == "fraud").mean()


def test_the_positive_class_is_the_configured_one_or_the_rarer() -> None:
    target = pd.Series(["ok"] * 9 + ["fraud"])
    assert positive_class(target, ImbalanceConfig(strategy="threshold")) == "fraud"
    chosen = ImbalanceConfig(strategy="threshold", positive_class="ok")
    assert positive_class(target, chosen) == "ok"
    with pytest.raises(ConfigError, match="'spam' is not a class of the training split"):
        positive_class(target, ImbalanceConfig(strategy="threshold", positive_class="spam"))
    with pytest.raises(ConfigError, match=r"needs a binary target.*3 classes"):
        positive_class(pd.Series(["a", "b", "c"]), ImbalanceConfig(strategy="threshold"))


def test_a_tuned_threshold_beats_the_default_on_rare_positives() -> None:
    inputs, labels = rare(share=0.08)
    model = LogisticRegression().fit(inputs, labels)
    proba = model.predict_proba(inputs)[:, list(model.classes_).index("fraud")]
    classes = list(model.classes_)
    threshold, reached = tune_threshold(labels, proba, classes, "fraud", "f1_macro")
    assert threshold < 0.5  # a rare class needs less evidence to be predicted
    wrapped = thresholded(model, "fraud", "lr").set_params(threshold=threshold)
    assert reached == pytest.approx(_f1_macro(labels, wrapped.predict(inputs)))
    assert reached > _f1_macro(labels, model.predict(inputs))


def test_a_flat_metric_keeps_the_models_own_threshold() -> None:
    labels = np.array(["a", "b"] * 10)
    proba = np.full(20, 0.7)
    assert tune_threshold(labels, proba, ["a", "b"], "b", "accuracy")[0] == 0.5


def test_a_threshold_needs_probabilities() -> None:
    with pytest.raises(ConfigError, match=r"model=svc \(SVC\) gives no probabilities"):
        thresholded(SVC(), "fraud", "svc")


LOGISTIC = ModelConfig.model_validate(
    {"name": "logistic_regression", "_target_": "sklearn.linear_model.LogisticRegression"}
)


def binary(config: Config, strategy: str) -> Config:
    """The project's config with the toy binary schema (label a/b) and a logistic regression."""
    imbalance = ImbalanceConfig.model_validate({"strategy": strategy})
    toy = DataConfig.model_validate(
        {
            "name": "toy",
            "path": "toy.csv",
            "task": "classification",
            "target": "label",
            "columns": {
                "label": {"type": "categorical", "categories": ["a", "b"]},
                "x": {"type": "numeric"},
            },
        }
    )
    return config.model_copy(update={"data": toy, "model": LOGISTIC, "imbalance": imbalance})


def test_the_pipeline_carries_the_strategy(project_config: Config) -> None:
    pipeline = build_pipeline(binary(project_config, "threshold"), positive="b")
    model = pipeline.named_steps["model"]
    assert isinstance(model, FixedThresholdClassifier)
    assert (model.pos_label, model.threshold) == ("b", 0.5)
    weighted = build_pipeline(binary(project_config, "class_weight"))
    assert weighted.named_steps["model"].class_weight == "balanced"
    plain = build_pipeline(binary(project_config, "none"))
    assert isinstance(plain.named_steps["model"], LogisticRegression)
    assert plain.named_steps["model"].class_weight is None


def test_the_config_refuses_a_strategy_that_cannot_apply(composed: dict[str, Any]) -> None:
    """The example data has three species (classification) or a numeric target (regression)."""
    composed["imbalance"] = {"strategy": "threshold"}
    if composed["data"]["task"] == "classification":
        message = "needs a binary target; 'species' has 3 classes: use imbalance=class_weight"
    else:
        message = "imbalance.strategy=threshold applies to classification only"
    with pytest.raises(ConfigError, match=message):
        parse(composed, "test")


@pytest.mark.parametrize(
    ("imbalance", "message"),
    [
        ({"strategy": "threshold", "positive_class": "z"}, "positive_class='z' is not one"),
        ({"strategy": "threshold", "metric": "log_loss"}, "scores probabilities"),
        ({"strategy": "class_weight", "metric": "rmse"}, "is not a classification metric"),
    ],
)
def test_the_config_names_a_wrong_imbalance_setting(
    project_config: Config, imbalance: dict[str, Any], message: str
) -> None:
    tree = binary(project_config, "none").model_dump(by_alias=True)
    for key, metric in (("evaluate", "scoring"), ("release", "primary_metric")):
        tree[key][metric] = "accuracy"
    tree["monitor"]["performance"]["metric"] = "accuracy"
    parse(tree, "test")  # valid as it is
    with pytest.raises(ConfigError, match=message):
        parse({**tree, "imbalance": imbalance}, "test")


def _f1_macro(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(truth, predicted, average="macro"))
