"""The disparities that fairness is measured and gated on, by name (pure, no fairlearn).

Config validation names them (``release.fairness.disparity``), so they live apart from the
measurement in `core/fairness.py`: loading the config must not import fairlearn.
"""

from dataclasses import dataclass

from .task import Task


@dataclass(frozen=True)
class Disparity:
    """One disparity: a difference (0 is parity, lower is better) or a ratio (1 is parity)."""

    name: str
    task: Task
    greater_is_better: bool

    def beyond(self, value: float, bound: float) -> bool:
        """Whether ``value`` is further from parity than ``bound`` allows."""
        return value < bound if self.greater_is_better else value > bound

    def worse_by(self, new: float, old: float) -> float:
        """How much further from parity ``new`` is than ``old`` (negative: closer)."""
        return old - new if self.greater_is_better else new - old


DISPARITIES: dict[str, Disparity] = {
    disparity.name: disparity
    for disparity in (
        Disparity("demographic_parity_difference", "classification", greater_is_better=False),
        Disparity("demographic_parity_ratio", "classification", greater_is_better=True),
        Disparity("equalized_odds_difference", "classification", greater_is_better=False),
        Disparity("equalized_odds_ratio", "classification", greater_is_better=True),
        Disparity("mae_difference", "regression", greater_is_better=False),
        Disparity("mae_ratio", "regression", greater_is_better=True),
        Disparity("rmse_difference", "regression", greater_is_better=False),
        Disparity("rmse_ratio", "regression", greater_is_better=True),
    )
}


def disparity_for(task: Task, name: str, key: str) -> Disparity:
    """The disparity ``name`` of ``task``; a clear error naming the config ``key`` and choices."""
    found = DISPARITIES.get(name)
    if found is None or found.task != task:
        valid = ", ".join(d.name for d in DISPARITIES.values() if d.task == task)
        raise ValueError(f"{key}={name!r} is not a {task} disparity; use one of: {valid}")
    return found
