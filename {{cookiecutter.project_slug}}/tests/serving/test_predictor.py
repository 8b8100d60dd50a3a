"""The record path scores exactly like the fitted pipeline, or is not used."""

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.release.export import Bundle
from {{ cookiecutter.package_name }}.serving.predictor import Predictor
from {{ cookiecutter.package_name }}.serving.schema import columns_of


def records(count: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(1)
    return [
        {
            "shop": f"shop{rng.integers(10)}" if index % 7 else None,
            "size": None if index % 5 == 0 else float(rng.uniform(0, 10)),
            "amount": float(rng.uniform(0, 8)),
        }
        for index in range(count)
    ]


def test_records_are_scored_exactly_like_the_pipeline(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["champion"]
    predictor = Predictor(bundle.pipeline, columns_of(bundle.metadata))
    assert predictor.fast
    batch = records(300)
    frame = predictor.frame(batch)
    fast = predictor.score_records(batch)
    assert fast.predictions == bundle.pipeline.predict(frame).tolist()
    assert fast.probabilities is not None
    np.testing.assert_allclose(fast.probabilities, bundle.pipeline.predict_proba(frame), atol=1e-12)


def test_a_regressor_scores_the_same_way(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["regression"]
    predictor = Predictor(bundle.pipeline, columns_of(bundle.metadata))
    batch = [{"label": "b", **record} for record in records(50)]
    scores = predictor.score_records(batch)
    assert predictor.fast and scores.probabilities is None
    np.testing.assert_allclose(scores.predictions, bundle.pipeline.predict(predictor.frame(batch)))


def test_another_pipeline_shape_falls_back_to_a_dataframe(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["champion"]
    steps = [("identity", "passthrough"), *bundle.pipeline.steps]
    predictor = Predictor(Pipeline(steps), columns_of(bundle.metadata))
    assert not predictor.fast
    batch = records(20)
    expected = bundle.pipeline.predict(pd.DataFrame(batch)).tolist()
    assert predictor.score_records(batch).predictions == expected
