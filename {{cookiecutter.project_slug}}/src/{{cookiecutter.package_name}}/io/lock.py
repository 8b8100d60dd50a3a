"""An exclusive lock file that knows when it is stale: two retrains never run at once.

The file is created with O_EXCL (atomic on every local filesystem) and names its holder: pid,
host and start time. A lock whose process is gone (same host) or that is older than the stale
limit (a crashed machine) is taken over, so one crash never blocks retraining for good.
"""

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..core.errors import ProjectError


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    started_at: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.started_at}"


class LockHeldError(ProjectError):
    """Another process holds the lock."""

    def __init__(self, path: Path, holder: Holder) -> None:
        super().__init__(f"{path} is held by {holder.describe()}")
        self.holder = holder


def read_holder(path: Path) -> Holder | None:
    """Who holds the lock, or None when there is no lock (an unreadable one counts as stale)."""
    try:
        return Holder(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return Holder(pid=0, host="", started_at="1970-01-01T00:00:00+00:00")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def is_stale(holder: Holder, *, stale_after: timedelta, now: datetime | None = None) -> bool:
    """Too old, or held by a process of this host that no longer exists."""
    started = datetime.fromisoformat(holder.started_at)
    if (now or datetime.now(UTC)) - started > stale_after:
        return True
    return holder.host == socket.gethostname() and not _alive(holder.pid)


def active_holder(path: Path, *, stale_after: timedelta) -> Holder | None:
    """The holder of a live lock; None when free or stale."""
    holder = read_holder(path)
    return None if holder is None or is_stale(holder, stale_after=stale_after) else holder


@contextmanager
def exclusive(path: Path, *, stale_after: timedelta) -> Iterator[Holder]:
    """Hold the lock for the block; raise ``LockHeldError`` if a live holder has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    me = Holder(os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat())
    for _ in range(2):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_holder(path)
            if holder is not None and not is_stale(holder, stale_after=stale_after):
                raise LockHeldError(path, holder) from None
            with suppress(FileNotFoundError):
                path.unlink()  # stale: take it over
            continue
        with os.fdopen(handle, "w") as file:
            json.dump(asdict(me), file)
        break
    else:
        holder = read_holder(path) or me
        raise LockHeldError(path, holder)
    try:
        yield me
    finally:
        if read_holder(path) == me:
            path.unlink()
