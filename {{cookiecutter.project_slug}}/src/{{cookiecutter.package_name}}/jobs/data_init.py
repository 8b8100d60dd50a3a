"""`data init`: infer a schema from a CSV/Parquet file and make it the pipeline's dataset.

The schema comes from `core/schema_inference.py`; `core/dataset_proposal.py` adds the data
checks' findings and personal-data detection as comments to review (see its docstring). `run`
writes `conf/data/<name>.yaml` (which selects its task's config in `conf/task/`: model, split,
metrics), selects it in `conf/config.yaml`, tracks the file with DVC and recomposes
`params.yaml`, so the next `dvc repro` trains on the new data with no code or config edit,
whatever the task; `validate` stops it only on a finding left for the user to decide.
"""

import re
import shutil
from pathlib import Path

from ..core.config import parse
from ..core.dataset_proposal import propose, render
from ..core.schema_inference import dataset_config, infer_schema, select_dataset
from ..core.task import Task
from ..io import dvc
from ..io.files import atomic_path, read_table
from ..io.params import CONF_DIR, compose, write_params

RAW_DIR = Path("data/raw")


def run(
    source: Path,
    *,
    target: str,
    name: str | None,
    task: Task | None,
    group: str | None,
    time: str | None,
) -> Path:
    frame = read_table(source)
    dataset = name or re.sub(r"\W+", "_", source.stem).strip("_").lower()
    raw_path = source if source.resolve().parent == RAW_DIR.resolve() else RAW_DIR / source.name
    document = infer_schema(
        frame, name=dataset, path=str(raw_path), target=target, task=task, group=group, time=time
    )
    proposal = propose(frame, document)
    if raw_path != source:
        with atomic_path(raw_path) as temporary:
            shutil.copy2(source, temporary)
    conf_file = CONF_DIR / "data" / f"{dataset}.yaml"
    header = [
        f"Inferred by `data init` from {source}; review ranges, categories and missing rates, "
        "and every `data init` note below (docs/your-data.md)."
    ]
    text = render(dataset_config(proposal.document), proposal.comments, header)
    with atomic_path(conf_file) as temporary:
        temporary.write_text(text)
    # The whole config with the new dataset (and its task) must be valid before it is selected.
    parse(compose([f"data={dataset}"]), f"conf/ with data={dataset}")
    config_file = CONF_DIR / "config.yaml"
    selected = select_dataset(config_file.read_text(), dataset)
    with atomic_path(config_file) as temporary:
        temporary.write_text(selected)
    write_params()
    task_file = CONF_DIR / "task" / f"{document['task']}.yaml"
    print(f"wrote {conf_file} ({len(document['columns'])} columns, task from {task_file})")
    for line in proposal.summary:
        print(f"  review: {line}")
    print(dvc.track(raw_path))
    print("selected it in conf/config.yaml and recomposed params.yaml; next: `make pipeline`")
    return conf_file
