"""The `feedback` commands: import labels from a file, export the review queue, and forget
one entity (erase its rows everywhere, recorded)."""

import json
from pathlib import Path
from typing import Literal

from ..core import labels as label_rules
from ..core.config import Config
from ..core.errors import DataValidationError, ProjectError
from ..core.labels import Label
from ..core.privacy import Privacy
from ..core.review import labelling_config, review_queue, to_label_studio, to_table
from ..io.erasure import Erasure, erase_entity, erasure_log
from ..io.feedback_store import FeedbackStore, log_path, log_settings, store_path
from ..io.files import atomic_path, read_table
from ..io.prediction_log import served_entities, served_rows
from ..io.registry import actor
from ..io.review_exports import write_export

Format = Literal["labelstudio", "csv"]
MAX_SHOWN = 5


def read_labels(path: Path) -> list[Label]:
    """A CSV/Parquet table or a Label Studio JSON export, by file suffix."""
    source = f"file:{path.name}"
    if path.suffix == ".json":
        if not path.is_file():
            raise ProjectError(f"{path}: file not found.")
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ProjectError(f"{path}: not valid JSON ({error}).") from error
        return label_rules.from_label_studio(document, source)
    return label_rules.from_table(read_table(path), source)


def import_labels(config: Config, path: Path) -> int:
    """Check every label against the target schema, then store them all (or none)."""
    found = read_labels(path)
    target = config.data.columns[config.data.target]
    checked, problems = [], []
    for item in found:
        value, problem = label_rules.check_label(item.label, target)
        if value is None:
            problems.append(f"request {item.request_id} record {item.record}: {problem}")
        else:
            checked.append(Label(item.request_id, value, item.record, item.source))
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_SHOWN])
        raise DataValidationError(
            f"{path}: {len(problems)} label(s) do not fit the target '{config.data.target}' "
            f"(conf/data); nothing was imported:\n{shown}"
        )
    settings = log_settings(config)
    prediction_log = Path(settings.path)
    known = served_entities(prediction_log, [(item.request_id, item.record) for item in checked])
    kept = [item for item in checked if (item.request_id, item.record) in known]
    FeedbackStore(store_path(prediction_log), max_age_days=settings.max_age_days).add(kept, known)
    skipped = len(checked) - len(kept)
    print(
        f"imported {len(kept)} label(s) from {path} into {store_path(prediction_log)}"
        + (f"; {skipped} skipped: no such served prediction in {prediction_log}" if skipped else "")
    )
    return len(kept)


def export_review(config: Config, fmt: Format, to: Path) -> int:
    """Write the review queue (least confident unlabelled predictions) for people to label."""
    if config.data.task != "classification":
        raise ProjectError("the review queue ranks by class probability: classifiers only.")
    prediction_log = log_path(config)
    served = served_rows(prediction_log)
    labelled = FeedbackStore(store_path(prediction_log)).labels()
    keys = set(zip(labelled["request_id"], labelled["record"], strict=True))
    queue = review_queue(served, keys, config.monitor.review)
    if fmt == "labelstudio":
        write_export(prediction_log, to, to_label_studio(queue, config.data))
        with atomic_path(to.with_suffix(".xml")) as temporary:
            temporary.write_text(labelling_config(config.data) + "\n")
    else:
        write_export(prediction_log, to, to_table(queue, config.data))
    below = config.monitor.review.below_confidence
    print(f"review queue: {len(queue)} prediction(s) below confidence {below} -> {to}")
    if fmt == "labelstudio":
        print(f"labelling interface for the Label Studio project: {to.with_suffix('.xml')}")
    return len(queue)


def forget(config: Config, entity_id: str) -> Erasure:
    """Erase every row about one entity from the log, the labels and the review exports.

    The id is hashed with ``PII_HASH_KEY``, as it was when its rows were stored; the erasure
    is recorded (pseudonym, counts, who, when) in ``erasures.jsonl`` beside the log.
    """
    entity = Privacy.from_environment().pseudonym(entity_id)
    prediction_log = log_path(config)
    erasure = erase_entity(prediction_log, entity, who=actor())
    exports = sum(erasure.review_exports.values())
    print(
        f"erased entity {erasure.entity[:12]}...: {erasure.prediction_log} prediction log row(s), "
        f"{erasure.feedback} label(s), {exports} review export row(s) "
        f"({len(erasure.review_exports)} file(s)); recorded in {erasure_log(prediction_log)}"
    )
    return erasure
