"""Server processes owned by a test or a benchmark: a free loopback port, started, stopped by PID.

Nothing here reaches outside the machine: every server listens on 127.0.0.1 and is stopped by
the process id it was started with (SIGTERM, then SIGKILL if it does not stop in time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    """True when GET ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class ServerProcess:
    """``command`` serving HTTP on 127.0.0.1:``port``; ready when GET ``probe`` answers 200.

    Output goes to ``output`` (a file the failure message quotes) or nowhere.
    """

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        port: int,
        probe: str,
        output: Path | None = None,
        timeout: float = 120,
    ) -> None:
        self.port, self.output = port, output
        sink = output.open("w") if output is not None else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink)
        finally:
            if output is not None:
                sink.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while not answers(f"http://127.0.0.1:{port}{probe}"):
            if self.process.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited:\n{self.text()}")
            if time.monotonic() > deadline:
                self.stop()
                late = f"{command[:4]} not ready within {timeout:.0f} s"
                raise RuntimeError(f"{late}:\n{self.text()}")
            time.sleep(0.3)

    def text(self) -> str:
        """What the server printed so far."""
        return self.output.read_text() if self.output is not None else "(output not kept)"

    def stop(self, timeout: float = 60) -> bool:
        """SIGTERM by PID (a clean shutdown), SIGKILL if it has not stopped within ``timeout``.

        True when it stopped on SIGTERM (or had stopped already), False when it was killed.
        """
        if self.process.poll() is not None:
            return True
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return False
        return True
