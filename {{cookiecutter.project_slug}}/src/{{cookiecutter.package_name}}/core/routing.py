"""Which model answers a request: single, shadow or canary, and when a canary is rolled back.

No I/O and no clock: the app measures latencies and hands them in. ``bucket`` is a stable
hash, so an entity (or a retried request id) always lands on the same arm, in every process
and after a restart. ``rollback_reason`` is the pure decision; ``Router`` keeps the recent
outcomes per arm and the current share, behind a lock.
"""

import hashlib
import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

from .config import CanaryConfig

Arm = Literal["champion", "challenger"]
CHAMPION: Arm = "champion"
CHALLENGER: Arm = "challenger"
BUCKETS = 10_000


def bucket(key: str) -> float:
    """A stable position of ``key`` in [0, 100): the same key, the same place, everywhere."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest) % BUCKETS * 100 / BUCKETS


def canary_arm(key: str, percent: float) -> Arm:
    """The challenger for the first ``percent`` of the hash space, else the champion."""
    return CHALLENGER if bucket(key) < percent else CHAMPION


@dataclass(frozen=True)
class ArmStats:
    """Recent outcomes of one arm: how many, the share that failed, the p95 latency."""

    requests: int
    error_rate: float
    p95_seconds: float


def arm_stats(outcomes: list[tuple[bool, float]]) -> ArmStats:
    """Stats of (ok, seconds) outcomes; p95 by the nearest-rank method, over successes."""
    if not outcomes:
        return ArmStats(0, 0.0, 0.0)
    errors = sum(1 for ok, _ in outcomes if not ok)
    latencies = sorted(seconds for ok, seconds in outcomes if ok)
    p95 = latencies[max(0, -(-len(latencies) * 95 // 100) - 1)] if latencies else 0.0
    return ArmStats(len(outcomes), errors / len(outcomes), p95)


def rollback_reason(champion: ArmStats, challenger: ArmStats, settings: CanaryConfig) -> str | None:
    """Why the challenger must lose its traffic, or None while it does as well as allowed."""
    if min(champion.requests, challenger.requests) < settings.min_requests:
        return None
    allowed_errors = champion.error_rate + settings.max_error_rate_increase
    if challenger.error_rate > allowed_errors:
        return (
            f"challenger error rate {challenger.error_rate:.1%} > champion "
            f"{champion.error_rate:.1%} + {settings.max_error_rate_increase:.1%}"
        )
    allowed_p95 = champion.p95_seconds * (1 + settings.max_p95_latency_increase)
    if challenger.p95_seconds > allowed_p95:
        return (
            f"challenger p95 latency {challenger.p95_seconds * 1000:.2f} ms > champion "
            f"{champion.p95_seconds * 1000:.2f} ms x {1 + settings.max_p95_latency_increase:g}"
        )
    return None


class Router:
    """Routing state of one server: the mode, the canary share and recent outcomes per arm."""

    def __init__(self, mode: str, canary: CanaryConfig) -> None:
        self.mode = mode
        self.settings = canary
        self.percent = canary.percent if mode == "canary" else 0.0
        self.rollback: str | None = None
        self._outcomes: dict[Arm, deque[tuple[bool, float]]] = {
            CHAMPION: deque(maxlen=canary.window),
            CHALLENGER: deque(maxlen=canary.window),
        }
        self._lock = threading.Lock()

    @property
    def shadow(self) -> bool:
        """True when the challenger scores every request in the background."""
        return self.mode == "shadow"

    def route(self, key: str) -> Arm:
        """The arm that answers the request with this entity or request id."""
        if self.percent <= 0.0:
            return CHAMPION
        return canary_arm(key, self.percent)

    def record(self, arm: Arm, ok: bool, seconds: float) -> str | None:
        """Record one canary outcome; return the reason when it just triggered a rollback."""
        if self.mode != "canary" or self.rollback is not None:
            return None
        with self._lock:
            self._outcomes[arm].append((ok, seconds))
            if arm != CHALLENGER or self.rollback is not None:
                return None
            reason = rollback_reason(
                arm_stats(list(self._outcomes[CHAMPION])),
                arm_stats(list(self._outcomes[CHALLENGER])),
                self.settings,
            )
            if reason is not None:
                self.percent, self.rollback = 0.0, reason
            return reason

    def reset(self) -> None:
        """A new challenger starts afresh at the configured share."""
        with self._lock:
            self.percent = self.settings.percent if self.mode == "canary" else 0.0
            self.rollback = None
            for outcomes in self._outcomes.values():
                outcomes.clear()

    def stats(self) -> dict[Arm, ArmStats]:
        with self._lock:
            return {arm: arm_stats(list(outcomes)) for arm, outcomes in self._outcomes.items()}
