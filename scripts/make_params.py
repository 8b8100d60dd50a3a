"""Rebuild the template's params.yaml from its conf/, for both tasks (maintainers' tool).

params.yaml is conf/ composed by Hydra, and the only generated file whose content depends on
the `task` option through the whole tree. Editing its Jinja by hand after every conf/ change is
error-prone, so this script renders the template once per task, composes each project's conf/
exactly as `make params` does, and merges the two documents into one Jinja file: equal lines
stay, a differing value becomes an inline choice, a differing block an if/else. Run it after any
change under conf/ and commit the result; tests/test_render.py checks it for every option set.

    python scripts/make_params.py          # rewrite {{cookiecutter.project_slug}}/params.yaml
    python scripts/make_params.py --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from cookiecutter.main import cookiecutter
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "{{cookiecutter.project_slug}}" / "params.yaml"
CLASSIFICATION = "cookiecutter.task == 'classification'"
HEADER = (
    "# Composed from conf/ by `make params` (and by `dvc exp run -S ...`). "
    "Do not edit: edit conf/.\n"
)
# Rendered names in the default project, and the Jinja that produces them.
NAMES = {
    "experiment_name: penguins-ml": "experiment_name: {{ cookiecutter.project_slug }}",
    "registered_model_name: penguins_ml": "registered_model_name: {{ cookiecutter.package_name }}",
    "champion: models:/penguins_ml@champion": (
        "champion: models:/{{ cookiecutter.package_name }}@champion"
    ),
}


def composed_params(task: str, workdir: Path) -> list[str]:
    """The params.yaml lines `make params` writes in a project rendered for ``task``."""
    project = Path(
        cookiecutter(
            str(ROOT), no_input=True, output_dir=str(workdir / task), extra_context={"task": task}
        )
    )
    with initialize_config_dir(str(project / "conf"), version_base="1.3"):
        tree: Any = OmegaConf.to_container(compose(config_name="config"), resolve=True)
    text = HEADER + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    return text.splitlines()


def choice(first: list[str], second: list[str]) -> list[str]:
    """One differing stretch: inline choices when only values differ, else an if/else block."""
    keys = [line.partition(": ")[0] for line in first]
    if len(first) == len(second) and keys == [line.partition(": ")[0] for line in second]:
        merged = []
        for key, left, right in zip(keys, first, second, strict=True):
            a, b = left.partition(": ")[2], right.partition(": ")[2]
            if (a, b) == ("classification", "regression"):
                merged.append(f"{key}: {{{{ cookiecutter.task }}}}")
            else:
                merged.append(f"{key}: {{{{ '{a}' if {CLASSIFICATION} else '{b}' }}}}")
        return merged
    return [f"{{%- if {CLASSIFICATION} %}}", *first, "{%- else %}", *second, "{%- endif %}"]


def merge(first: list[str], second: list[str]) -> list[str]:
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(a=first, b=second, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            lines.extend(first[a0:a1])
        else:
            lines.extend(choice(first[a0:a1], second[b0:b1]))
    return lines


def with_names(lines: list[str]) -> list[str]:
    """Project names as Jinja, and the serve section only when the API is included."""
    named = []
    for line in lines:
        for rendered, jinja in NAMES.items():
            line = line.replace(rendered, jinja)
        named.append(line)
    start = named.index("serve:")
    end = next(
        (i for i in range(start + 1, len(named)) if not named[i].startswith(" ")), len(named)
    )
    named[start:end] = [
        "{%- if cookiecutter.include_api == 'yes' %}",
        *named[start:end],
        "{%- endif %}",
    ]
    leftover = [line for line in named if "penguins_ml" in line or "penguins-ml" in line]
    if leftover:
        raise SystemExit(f"project names left unconverted in params.yaml: {leftover}")
    return named


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when params.yaml is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        classification = composed_params("classification", Path(workdir))
        regression = composed_params("regression", Path(workdir))
    text = "\n".join(with_names(merge(classification, regression))) + "\n"
    if args.check:
        if TARGET.read_text() != text:
            print(f"{TARGET} is stale: run python scripts/make_params.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
