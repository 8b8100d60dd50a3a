"""monitoring/drift: statistics against hand-computed values, and detectors with fixed seeds."""

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from {{ cookiecutter.package_name }}.core.config import ColumnSpec, DataConfig, DriftConfig
from {{ cookiecutter.package_name }}.core.drift import (
    MISSING,
    UNSEEN,
    FeatureDrift,
    adjust_p_values,
    categorical_stats,
    chi_square_p_value,
    dataset_drift,
    feature_drift,
    jensen_shannon,
    ks_and_wasserstein,
    numeric_stats,
    prediction_drift,
    psi,
)

Window = Callable[..., pd.DataFrame]


def test_psi_by_hand() -> None:
    # shares 0.5/0.5 -> 0.25/0.75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
    expected = -0.25 * math.log(0.5) + 0.25 * math.log(1.5)
    assert psi(np.array([50.0, 50.0]), np.array([25.0, 75.0])) == pytest.approx(expected)
    assert psi(np.array([3.0, 7.0]), np.array([30.0, 70.0])) == 0.0


def test_psi_uses_epsilon_for_an_empty_bin() -> None:
    # shares 1/0 -> 0.5/0.5; the empty reference bin counts as 1e-4
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi(np.array([10.0, 0.0]), np.array([5.0, 5.0]), 1e-4) == pytest.approx(expected)


def test_jensen_shannon_by_hand() -> None:
    # p = (1, 0), q = (0, 1): m = (1/2, 1/2), each KL is ln 2, so the distance is sqrt(ln 2)
    assert jensen_shannon(np.array([4.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(
        math.sqrt(math.log(2))
    )
    assert jensen_shannon(np.array([1.0, 3.0]), np.array([2.0, 6.0])) == pytest.approx(0.0)


def test_chi_square_by_hand_and_as_scipy() -> None:
    # reference shares 1/2, 1/2; 100 current rows -> expected 50/50, observed 60/40: stat 4, df 1
    p_value = chi_square_p_value(np.array([10.0, 10.0]), np.array([60.0, 40.0]))
    assert p_value == pytest.approx(stats.chi2.sf(4.0, 1))
    assert p_value == pytest.approx(stats.chisquare([60, 40], [50, 50]).pvalue)


def test_chi_square_is_zero_when_the_reference_never_saw_a_bin() -> None:
    assert chi_square_p_value(np.array([5.0, 5.0, 0.0]), np.array([5.0, 4.0, 1.0])) == 0.0
    assert chi_square_p_value(np.array([5.0, 5.0, 0.0]), np.array([5.0, 5.0, 0.0])) == 1.0


def test_ks_and_wasserstein_by_hand() -> None:
    # F_ref - F_cur is 1/3 on [1, 2), [2, 3) and [3, 4): sup 1/3, area 1
    statistic, p_value, distance = ks_and_wasserstein(np.array([1.0, 2, 3]), np.array([2.0, 3, 4]))
    assert statistic == pytest.approx(1 / 3)
    assert distance == pytest.approx(1.0)  # each point moves by one: (1+1+1)/3
    assert p_value == pytest.approx(stats.ks_2samp([1, 2, 3], [2, 3, 4]).pvalue)


@pytest.mark.parametrize(("n", "m"), [(300, 200), (20_000, 15_000)])
def test_ks_and_wasserstein_equal_scipy_with_ties(n: int, m: int) -> None:
    rng = np.random.default_rng(0)
    reference = np.sort(rng.normal(0, 1, n).round(1))
    current = np.sort(rng.normal(0.1, 1, m).round(1))
    statistic, p_value, distance = ks_and_wasserstein(reference, current)
    expected = stats.ks_2samp(reference, current)
    assert statistic == pytest.approx(expected.statistic)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert distance == pytest.approx(stats.wasserstein_distance(reference, current))


def test_numeric_bins_are_reference_quantiles_plus_missing() -> None:
    reference = np.arange(1.0, 101.0)
    current = np.concatenate([np.arange(1.0, 51.0), [np.nan] * 50])
    result = numeric_stats("x", reference, current, bins=4, epsilon=1e-4)
    assert result.histogram.bins[-1] == MISSING
    assert result.histogram.reference == (0.25, 0.25, 0.25, 0.25, 0.0)
    assert result.histogram.current == (0.25, 0.25, 0.0, 0.0, 0.5)
    assert result.distance == pytest.approx(
        stats.wasserstein_distance(reference, current[:50]) / np.std(reference)
    )


def test_categorical_bins_name_unseen_and_missing() -> None:
    reference = pd.Series(["a", "a", "b", None])
    current = pd.Series(["a", "c", "c", None])
    result = categorical_stats("colour", reference, current, epsilon=1e-4)
    assert result.histogram.bins == ("a", "b", UNSEEN, MISSING)
    assert result.histogram.reference == (0.5, 0.25, 0.0, 0.25)
    assert result.histogram.current == (0.25, 0.0, 0.5, 0.25)
    assert result.p_value == 0.0  # unseen values: the reference's shares cannot explain them


def test_holm_and_bonferroni_by_hand() -> None:
    p_values = [0.01, 0.04, 0.03]
    # Holm: sorted 0.01*3, 0.03*2, 0.04*1 -> 0.03, 0.06, max(0.06, 0.04) = 0.06
    assert adjust_p_values(p_values, "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert adjust_p_values(p_values, "bonferroni") == pytest.approx([0.03, 0.12, 0.09])
    assert adjust_p_values(p_values, "none") == p_values


@pytest.fixture(params=[(2000, 300), (20_000, 5000)], ids=["p-value-window", "distance-window"])
def window_drift(
    request: pytest.FixtureRequest,
    schema: DataConfig,
    drift_config: DriftConfig,
    make_window: Window,
) -> Callable[..., list[FeatureDrift]]:
    """Drift of a window made with ``changes`` against one reference: a small window (judged by
    p-values) and a large one (judged by distances)."""
    reference_rows, current_rows = request.param
    reference = make_window(reference_rows, seed=1)

    def drift(seed: int = 2, **changes: object) -> list[FeatureDrift]:
        current = make_window(current_rows, seed=seed, **changes)
        return feature_drift(reference, current, schema, drift_config)

    return drift


def drifted(features: list[FeatureDrift]) -> list[str]:
    return [f.stats.name for f in features if f.drifted]


def test_an_iid_resample_raises_no_alarm(
    window_drift: Callable[..., list[FeatureDrift]], drift_config: DriftConfig
) -> None:
    for seed in range(2, 7):
        features = window_drift(seed)
        assert drifted(features) == []
        assert {f.severity for f in features} == {"ok"}
        assert not dataset_drift(features, drift_config).drifted


def test_a_mean_shift_of_half_a_std_is_flagged_on_its_feature(
    window_drift: Callable[..., list[FeatureDrift]], drift_config: DriftConfig
) -> None:
    features = window_drift(shift=0.5)
    assert drifted(features) == ["x1"]
    shifted = next(f for f in features if f.stats.name == "x1")
    assert shifted.stats.distance == pytest.approx(0.5, abs=0.1)
    assert shifted.severity in {"warn", "alert"}
    assert not dataset_drift(features, drift_config).drifted  # 1 of 4 features < 50%


def test_a_changed_category_mix_is_flagged_on_its_feature(
    window_drift: Callable[..., list[FeatureDrift]],
) -> None:
    features = window_drift(colour_mix=[0.2, 0.3, 0.5])
    assert drifted(features) == ["colour"]
    assert next(f for f in features if f.stats.name == "colour").severity == "alert"


def test_a_key_feature_alert_is_dataset_drift(
    schema: DataConfig, drift_config: DriftConfig, make_window: Window
) -> None:
    reference, current = make_window(2000, 1), make_window(300, 2, colour_mix=[0.1, 0.1, 0.8])
    keyed = drift_config.model_copy(update={"key_features": ["colour"]})
    features = feature_drift(reference, current, schema, keyed)
    assert dataset_drift(features, drift_config).drifted is False
    result = dataset_drift(features, keyed)
    assert result.drifted
    assert result.alerting_key_features == ("colour",)


def test_prediction_drift_follows_the_model_output(
    drift_config: DriftConfig, make_window: Window
) -> None:
    reference = make_window(2000, 1)
    same = prediction_drift(reference, make_window(300, 2), "classification", drift_config)
    moved = prediction_drift(
        reference, make_window(300, 2, shift=1.0), "classification", drift_config
    )
    assert same is not None and not same.drifted
    assert moved is not None and moved.drifted
    assert (
        prediction_drift(
            reference.drop(columns="prediction"), reference, "classification", drift_config
        )
        is None
    )


def test_dates_and_free_text_are_not_drift_features_and_booleans_are_compared_as_such(
    schema: DataConfig,
) -> None:
    """Dates move forward by nature and text has no categories; yes/no is yes/no, whichever
    words a side wrote it in."""
    columns = {
        **schema.columns,
        "when": ColumnSpec(type="datetime"),
        "note": ColumnSpec(type="text"),
        "member": ColumnSpec(type="boolean"),
    }
    typed = schema.model_copy(update={"columns": columns})
    rows = 400
    reference = pd.DataFrame(
        {
            "x1": np.linspace(-1, 1, rows),
            "x2": np.linspace(0, 1, rows),
            "colour": ["red"] * rows,
            "shop": ["s1"] * rows,
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "note": [f"note {index}" for index in range(rows)],
            "member": pd.array([True, False] * (rows // 2), dtype="boolean"),
        }
    )
    current = reference.assign(
        when=pd.date_range("2030-01-01", periods=rows, freq="h").strftime("%Y-%m-%d"),
        note=[f"other {index}" for index in range(rows)],
        member=["yes", "no"] * (rows // 2),
    )
    found = {
        item.stats.name: item for item in feature_drift(reference, current, typed, DriftConfig())
    }
    assert "when" not in found and "note" not in found
    assert not found["member"].drifted
    assert found["member"].stats.histogram.bins == ("False", "True", UNSEEN, MISSING)
