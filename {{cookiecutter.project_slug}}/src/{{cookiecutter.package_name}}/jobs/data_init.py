"""`data init`: infer a schema from a CSV/Parquet file and make it the pipeline's dataset.

The proposal comes from `core/schema_inference.py`. `run` writes `conf/data/<name>.yaml`,
selects it in `conf/config.yaml`, tracks the file with DVC and recomposes `params.yaml`, so
the next `dvc repro` trains on the new data with no code edit.
"""

import re
import shutil
from pathlib import Path

import yaml

from ..core.config import Task
from ..core.schema_inference import infer_schema, select_dataset
from ..io import dvc
from ..io.files import read_table
from ..io.params import CONF_DIR, write_params

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
    if raw_path != source:
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, raw_path)
    conf_file = CONF_DIR / "data" / f"{dataset}.yaml"
    header = (
        f"# Inferred by `data init` from {source}; review ranges, categories and missing rates.\n"
    )
    conf_file.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    config_file = CONF_DIR / "config.yaml"
    config_file.write_text(select_dataset(config_file.read_text(), dataset))
    write_params()
    print(f"wrote {conf_file} ({len(document['columns'])} columns, task={document['task']})")
    print(dvc.track(raw_path))
    print("selected it in conf/config.yaml and recomposed params.yaml; next: `make pipeline`")
    return conf_file
