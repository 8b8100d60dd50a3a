"""Erasing one entity everywhere the project keeps its served data, and the record of it.

`feedback forget --entity-id ID` and ``DELETE /admin/entities/{id}`` both end here with the
entity's pseudonym: its rows leave the prediction log, the feedback store and every review
export still on disk, then one line is appended to ``erasures.jsonl`` beside the log: when,
who, the pseudonym and the counts, never the id or the data. Erasing again is harmless: it
finds nothing, and says so in a new line.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.timestamps import now
from . import prediction_log, review_exports
from .feedback_store import FeedbackStore, store_path

ERASURE_LOG = "erasures.jsonl"


@dataclass(frozen=True)
class Erasure:
    """What one erasure removed: rows per store, and per review export file."""

    entity: str
    when: str
    who: str
    prediction_log: int
    feedback: int
    review_exports: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.prediction_log + self.feedback + sum(self.review_exports.values())


def erasure_log(log: Path) -> Path:
    """The append-only record of erasures, beside the prediction log (and on its volume)."""
    return log.parent / ERASURE_LOG


def erase_entity(log: Path, entity: str, *, who: str) -> Erasure:
    """Delete the rows about ``entity`` (a pseudonym) from every store, then record it.

    The exports go first: a file someone edited into something unreadable stops the erasure
    before anything is deleted.
    """
    exports = review_exports.erase(log, entity)
    erasure = Erasure(
        entity=entity,
        when=now(),
        who=who,
        prediction_log=prediction_log.erase(log, entity),
        feedback=FeedbackStore(store_path(log)).erase(entity),
        review_exports=exports,
    )
    _append(erasure_log(log), asdict(erasure))
    return erasure


def erasures(log: Path) -> list[dict[str, Any]]:
    """Every recorded erasure, oldest first."""
    path = erasure_log(log)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append(path: Path, record: dict[str, Any]) -> None:
    """One line, written with one call and flushed to disk: a crash leaves whole lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
