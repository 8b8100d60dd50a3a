"""evaluate: the faster f1_macro scorer gives scikit-learn's own score."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from {{ cookiecutter.package_name }}.jobs.evaluate import f1_macro


class Fixed:
    """An estimator that predicts given labels, whatever the features."""

    def __init__(self, predictions: np.ndarray) -> None:
        self.predictions = predictions

    def predict(self, features: object) -> np.ndarray:
        return self.predictions


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_f1_macro_equals_scikit_learns_on_the_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = pd.Series(rng.choice(["a", "b", "c", "never predicted"], 500))
    predicted = rng.choice(["a", "b", "c", "never true"], 500).astype(object)
    expected = f1_score(truth, predicted, average="macro")
    assert f1_macro(Fixed(predicted), pd.DataFrame(), truth) == pytest.approx(expected, abs=1e-12)
