"""The retrain decision: production evidence in, triggers and blocking guardrails out.

Pure: the `retrain` job gathers the facts (monitoring report, registry dates, new labels) and
acts on the decision; everything here is unit-tested on plain values.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from .config import DataConfig, RetrainConfig

HOUR = 3600.0


@dataclass(frozen=True)
class Evidence:
    """The facts a decision is taken on; ``None`` where there is nothing to read."""

    monitor_report: str | None = None
    monitor_status: str | None = None
    monitored_at: str | None = None
    monitored_version: str | None = None
    dataset_drift: bool = False
    drifted_features: tuple[str, ...] = ()
    performance_drop: float | None = None
    champion_version: str | None = None
    champion_age_days: float | None = None
    hours_since_newest_version: float | None = None
    new_labels: int = 0

    @property
    def stale_report(self) -> str | None:
        """Why the report's drift and performance no longer count (None: they do).

        A report names the version it judged: it counts while that is the champion, however
        many challengers were rejected since. One that does not (an older report) counts
        until a newer version is registered.
        """
        if self.monitored_version is not None and self.champion_version is not None:
            if self.monitored_version == self.champion_version:
                return None
            return (
                f"the latest monitoring report judged version {self.monitored_version}, not the "
                f"champion (version {self.champion_version}): run `monitor` again"
            )
        if self.monitored_at is None or self.hours_since_newest_version is None:
            return None
        monitored = datetime.fromisoformat(self.monitored_at)
        if datetime.now(UTC) - monitored > timedelta(hours=self.hours_since_newest_version):
            return "the latest monitoring report predates the newest model: run `monitor` again"
        return None


@dataclass(frozen=True)
class Decision:
    triggers: tuple[str, ...]
    blocked_by: tuple[str, ...]

    @property
    def retrain(self) -> bool:
        return bool(self.triggers) and not self.blocked_by


def decide(evidence: Evidence, config: RetrainConfig) -> Decision:
    """Any trigger starts a retrain; every guardrail must let it through."""
    triggers = []
    fresh = evidence.stale_report is None
    if fresh and config.on_drift and evidence.dataset_drift:
        features = ", ".join(evidence.drifted_features)
        triggers.append(f"dataset drift in {evidence.monitor_report} ({features})")
    drop = evidence.performance_drop
    if fresh and drop is not None and drop > config.max_performance_drop:
        triggers.append(
            f"performance drop {drop:.1%} > retrain.max_performance_drop "
            f"{config.max_performance_drop:.1%}"
        )
    age = evidence.champion_age_days
    if age is not None and age > config.max_champion_age_days:
        triggers.append(
            f"champion version {evidence.champion_version} is {age:.0f} days old "
            f"> retrain.max_champion_age_days {config.max_champion_age_days:g}"
        )
    blocked = []
    if evidence.new_labels < config.min_new_labels:
        blocked.append(
            f"not enough new labels: {evidence.new_labels} labelled production rows "
            f"< retrain.min_new_labels {config.min_new_labels}"
        )
    since = evidence.hours_since_newest_version
    if since is not None and since < config.cooldown_hours:
        blocked.append(
            f"cool-down: the newest model version is {since:.1f} h old "
            f"< retrain.cooldown_hours {config.cooldown_hours:g}"
        )
    return Decision(tuple(triggers), tuple(blocked) if triggers else ())


def time_values(timestamps: pd.Series, data: DataConfig) -> pd.Series | None:
    """The time column of production rows, from when they were served.

    A datetime column gets the timestamp; a numeric one the year when its range is a year's
    (max <= 9999, as in the example data), else seconds since 1970.
    """
    if data.time_column is None:
        return None
    spec = data.columns[data.time_column]
    if spec.type == "datetime":
        return pd.Series(timestamps.dt.strftime("%Y-%m-%dT%H:%M:%S"), index=timestamps.index)
    if spec.max is not None and spec.max <= 9999:
        return pd.Series(timestamps.dt.year, index=timestamps.index)
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    return pd.Series((timestamps - epoch) // pd.Timedelta(seconds=1), index=timestamps.index)


def production_rows(labelled: pd.DataFrame, data: DataConfig) -> pd.DataFrame:
    """Served rows with their labels as raw-data rows: every schema column, in schema order."""
    rows = pd.DataFrame(index=labelled.index)
    for name in data.columns:
        rows[name] = labelled[name] if name in labelled.columns else None
    times = time_values(labelled["timestamp"], data) if data.time_column else None
    if times is not None and data.time_column not in labelled.columns:
        rows[data.time_column] = times
    return rows.reset_index(drop=True)
