"""monitoring/lock: one holder at a time; a dead or old holder's lock is taken over."""

import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.io.lock import LockHeldError, exclusive, read_holder

HOUR = timedelta(hours=1)


def hold(path: Path, pid: int, age: timedelta = timedelta()) -> None:
    started = (datetime.now(UTC) - age).isoformat()
    path.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started_at": started}))


def test_a_live_holder_blocks_and_the_lock_is_released_after(tmp_path: Path) -> None:
    lock = tmp_path / "retrain.lock"
    with exclusive(lock, stale_after=HOUR) as me:
        assert read_holder(lock) == me
        with (
            pytest.raises(LockHeldError, match=f"pid {os.getpid()}"),
            exclusive(lock, stale_after=HOUR),
        ):
            pass
    assert not lock.exists()


@pytest.mark.parametrize(
    ("pid", "age"),
    [(2**22 + 12345, timedelta()), (os.getpid(), timedelta(hours=2))],
    ids=["dead", "old"],  # not the pid: each xdist worker has its own
)
def test_a_dead_or_old_holder_is_taken_over(tmp_path: Path, pid: int, age: timedelta) -> None:
    lock = tmp_path / "retrain.lock"
    hold(lock, pid, age)
    with exclusive(lock, stale_after=HOUR) as me:
        assert me.pid == os.getpid()
    assert not lock.exists()
