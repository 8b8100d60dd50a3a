"""Routing decisions: stable buckets, canary shares, and the rollback rule."""

from {{ cookiecutter.package_name }}.core.config import CanaryConfig
from {{ cookiecutter.package_name }}.core.routing import (
    CHALLENGER,
    CHAMPION,
    ArmStats,
    Router,
    arm_stats,
    bucket,
    canary_arm,
    rollback_reason,
)

SETTINGS = CanaryConfig(percent=10.0, window=100, min_requests=20)


def test_bucket_is_stable_and_in_range() -> None:
    assert bucket("customer-42") == bucket("customer-42")
    assert all(0.0 <= bucket(f"k{index}") < 100.0 for index in range(1000))


def test_canary_share_matches_the_percentage() -> None:
    keys = [f"entity-{index}" for index in range(20_000)]
    for percent in (0.0, 5.0, 25.0, 100.0):
        share = sum(canary_arm(key, percent) == CHALLENGER for key in keys) / len(keys)
        assert abs(share - percent / 100) < 0.01


def test_arm_stats_error_rate_and_p95() -> None:
    outcomes = [(True, index / 1000) for index in range(1, 101)] + [(False, 9.0)] * 25
    stats = arm_stats(outcomes)
    assert (stats.requests, stats.error_rate, stats.p95_seconds) == (125, 0.2, 0.095)
    assert arm_stats([]) == ArmStats(0, 0.0, 0.0)


def test_rollback_needs_enough_requests_then_names_the_rule() -> None:
    good = ArmStats(100, 0.0, 0.010)
    assert rollback_reason(good, ArmStats(19, 1.0, 1.0), SETTINGS) is None
    assert "error rate" in str(rollback_reason(good, ArmStats(50, 0.05, 0.010), SETTINGS))
    assert "p95 latency" in str(rollback_reason(good, ArmStats(50, 0.0, 0.016), SETTINGS))
    assert rollback_reason(good, ArmStats(50, 0.01, 0.014), SETTINGS) is None


def test_router_rolls_back_to_zero_and_reset_restores_the_share() -> None:
    router = Router("canary", SETTINGS)
    for _ in range(30):
        router.record(CHAMPION, True, 0.01)
    reasons = [router.record(CHALLENGER, False, 0.01) for _ in range(30)]
    assert [reason for reason in reasons if reason] and router.percent == 0.0
    assert all(router.route(f"k{index}") == CHAMPION for index in range(200))
    router.reset()
    assert (router.percent, router.rollback) == (10.0, None)


def test_single_and_shadow_always_route_to_the_champion() -> None:
    for mode in ("single", "shadow"):
        router = Router(mode, SETTINGS)
        assert {router.route(f"k{index}") for index in range(200)} == {CHAMPION}
    assert Router("shadow", SETTINGS).shadow
