"""Timestamps as the project stores them: UTC, ISO 8601, microseconds, ``Z`` suffix.

One fixed-width format for the prediction log, the feedback store and the registry's audit
trail: text order is time order (SQLite compares the text), and any client can read it.
"""

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp(moment: datetime) -> str:
    """``moment`` in UTC as stored, e.g. ``2026-01-01T12:00:00.000000Z``."""
    return moment.astimezone(UTC).strftime(FORMAT)


def now() -> str:
    """The current time, stamped."""
    return stamp(datetime.now(UTC))
