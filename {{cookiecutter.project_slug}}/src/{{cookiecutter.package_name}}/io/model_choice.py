"""The model choice in conf/: list the model files, and write one in as the pipeline's model.

Writing a choice changes three files: conf/model/<name>.yaml, conf/config.yaml (which selects
it) and params.yaml (recomposed from conf/). All three change or none does: each is replaced
atomically, and if a later one fails the earlier ones are put back. Writers on one checkout take
turns (a lock file), so concurrent `tune` workers never interleave their write-backs.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from ..core.tuning import select_model
from .files import atomic_path
from .lock import LockHeldError, exclusive
from .params import CONF_DIR, PARAMS_FILE, write_params

MODEL_DIR = CONF_DIR / "model"
CONFIG_FILE = CONF_DIR / "config.yaml"
WRITE_LOCK = Path("build/model_choice.lock")
LOCK_WAIT_SECONDS = 120.0


def model_names() -> list[str]:
    """The model files of conf/model/, by name (``model=<name>``)."""
    return sorted(path.stem for path in MODEL_DIR.glob("*.yaml"))


@contextmanager
def turn() -> Iterator[None]:
    """Hold the write-back lock of this checkout, waiting for another writer to finish."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    with ExitStack() as held:
        while True:
            try:
                held.enter_context(exclusive(WRITE_LOCK, stale_after=timedelta(minutes=10)))
                break
            except LockHeldError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield


def _replace(path: Path, text: str | None) -> None:
    if text is None:
        path.unlink(missing_ok=True)
        return
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def write_model_choice(name: str, model_text: Callable[[], str]) -> list[Path]:
    """Write ``model_text()`` as conf/model/<name>.yaml, select it, recompose params.yaml.

    ``model_text`` is called once the lock is held, so it can read the latest state (the best
    trial of a study other workers still add to). Returns the files written.
    """
    model_file = MODEL_DIR / f"{name}.yaml"
    with turn():
        files = (model_file, CONFIG_FILE, PARAMS_FILE)
        before = {path: path.read_text() if path.is_file() else None for path in files}
        try:
            _replace(model_file, model_text())
            _replace(CONFIG_FILE, select_model(before[CONFIG_FILE] or "", name))
            write_params()
        except BaseException:
            for path, text in before.items():
                _replace(path, text)
            raise
    return list(files)
