"""The disparity registry: each disparity's direction, and config names checked per task."""

import pytest

from {{ cookiecutter.package_name }}.core.disparities import DISPARITIES, disparity_for


def test_disparities_know_their_direction_and_task() -> None:
    assert DISPARITIES["equalized_odds_difference"].beyond(0.3, 0.2)
    assert not DISPARITIES["equalized_odds_ratio"].beyond(0.9, 0.8)
    assert DISPARITIES["mae_ratio"].worse_by(0.7, 0.9) == pytest.approx(0.2)
    assert disparity_for("regression", "mae_difference", "k").name == "mae_difference"
    with pytest.raises(ValueError, match=r"release.fairness.disparity='mae_ratio' is not a class"):
        disparity_for("classification", "mae_ratio", "release.fairness.disparity")
