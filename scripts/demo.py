"""`make demo`: render the template with its defaults into build/ and run the project end to end.

Prints where to look afterwards. Re-running replaces the previous demo project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

TEMPLATE = Path(__file__).resolve().parent.parent
BUILD = TEMPLATE / "build"
STEPS = (["make", "setup"], ["make", "pipeline"], ["make", "release"])


def step(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    print(f"\n==> {' '.join(command)}  (in {cwd.relative_to(TEMPLATE)})", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True)
    print(f"    done in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> int:
    BUILD.mkdir(exist_ok=True)
    defaults = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    slug = defaults["project_name"].lower().replace(" ", "-")
    shutil.rmtree(BUILD / slug, ignore_errors=True)
    print(f"==> rendering {TEMPLATE.name} with its defaults into build/{slug}", flush=True)
    project = Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(BUILD), default_config=True)
    )
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{Path(find_uv_bin()).parent}{os.pathsep}{env['PATH']}"
    try:
        for command in STEPS:
            step(command, project, env)
    except subprocess.CalledProcessError as error:
        print(f"\nFAILED: {' '.join(error.cmd)} exited {error.returncode}", file=sys.stderr)
        return 1
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    gate = json.loads((project / "reports" / "gate.json").read_text())
    where = project.relative_to(TEMPLATE)
    package = project.name.replace("-", "_")
    print(
        f"""
The generated project ran end to end: {where}

Test metrics (reports/metrics.json): {json.dumps(metrics["test"])}
Registered model: {gate["model"]} version {gate["challenger"]}, gate {gate["reason"]}

Where to look:
  cd {where}
  make metrics              # DVC metrics; reports/slices.json has the per-slice table
  make mlflow-ui            # every run, its params, metrics, plots and model: http://127.0.0.1:5000
  make plots                # DVC plots -> dvc_plots/index.html
  make history              # registry versions, aliases (champion, ...) and the audit trail
  reports/model_card.md     # the model card of the registered version
Next steps:
  uv run dvc exp run -S model=random_forest && uv run dvc exp show
  uv run {package} lineage models:/{package}@champion
  uv run {package} data init path/to/your.csv --target your_column
"""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
