"""Server processes owned by a test or a benchmark: a free loopback port, started, stopped by PID.

Nothing here reaches outside the machine: every server listens on 127.0.0.1 and is stopped by
the process id it was started with (SIGTERM, then SIGKILL if it does not stop in time).

The team stack of the end-to-end tests is built from these: PostgreSQL from the machine's
binaries, moto's S3 API server, and `mlflow server` on both with authentication on.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, ClassVar


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
    """``command`` serving on 127.0.0.1:``port``; ready when GET ``probe`` answers 200 (HTTP)
    or, for other protocols, when ``ready()`` is true.

    The server runs in a session of its own, so `kill` can crash it with all its workers, and
    `start` can start it again on the same port. Output goes to ``output`` (a file the failure
    message quotes) or nowhere. ``user`` runs it as that user (a server that refuses root).
    """

    stop_signal = signal.SIGTERM

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        port: int,
        probe: str | None = None,
        ready: Callable[[], bool] | None = None,
        output: Path | None = None,
        timeout: float = 120,
        user: str | None = None,
    ) -> None:
        self.command, self.cwd, self.env, self.user = command, cwd, env, user
        self.port, self.output, self.timeout = port, output, timeout
        self.ready = ready or (lambda: answers(f"http://127.0.0.1:{port}{probe}"))
        self.start()

    def start(self) -> None:
        """Start the command and wait until it is ready (again, after `stop` or `kill`)."""
        sink = self.output.open("a") if self.output is not None else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=sink,
                stderr=sink,
                user=self.user,
                start_new_session=True,
            )
        finally:
            if self.output is not None:
                sink.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + self.timeout
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[:4]} exited:\n{self.text()}")
            if time.monotonic() > deadline:
                self.stop()
                late = f"{self.command[:4]} not ready within {self.timeout:.0f} s"
                raise RuntimeError(f"{late}:\n{self.text()}")
            time.sleep(0.3)

    def text(self) -> str:
        """What the server printed so far."""
        return self.output.read_text() if self.output is not None else "(output not kept)"

    def stop(self, timeout: float = 60) -> bool:
        """``stop_signal`` by PID (a clean shutdown), `kill` if it has not stopped in ``timeout``.

        True when it stopped on the signal (or had stopped already), False when it was killed.
        """
        if self.process.poll() is not None:
            return True
        os.kill(self.process.pid, self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the server and every process it started (its session): a crash."""
        with suppress(ProcessLookupError):  # the whole session has gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


# --- The team stack: PostgreSQL, an S3 API, `mlflow server` on both ---------------------------


def postgres_bindir() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, postgres, psql), or None.

    `pg_config --bindir` first; Debian also keeps each major version in /usr/lib/postgresql/N.
    """
    candidates = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(found.stdout.strip()))
    versions = [
        path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()
    ]
    candidates += sorted(versions, key=lambda path: int(path.parent.name), reverse=True)
    return next((path for path in candidates if (path / "initdb").is_file()), None)


class Postgres(ServerProcess):
    """A throw-away PostgreSQL cluster on 127.0.0.1: initdb into a temporary folder, trust login.

    PostgreSQL refuses to run as root: then it runs as the `postgres` user (Debian's package
    creates it) in a folder that user owns. Durability is off (fsync): it is a test database.
    """

    stop_signal = signal.SIGINT  # "fast" shutdown: clients are disconnected, not waited for

    def __init__(self, bindir: Path, output: Path) -> None:
        self.bindir = bindir
        user = "postgres" if os.geteuid() == 0 else None
        if user is not None:
            try:
                pwd.getpwnam(user)
            except KeyError:
                raise RuntimeError(
                    "PostgreSQL will not run as root and there is no 'postgres' user: "
                    "create it (useradd --system postgres) or run the tests as another user."
                ) from None
        self.root = Path(tempfile.mkdtemp(prefix="e2e-postgres-"))
        try:
            if user is not None:
                shutil.chown(self.root, user)
            self._init_and_start(output, user)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _init_and_start(self, output: Path, user: str | None) -> None:
        data = self.root / "data"
        initdb = [f"--pgdata={data}", "--username=postgres", "--auth=trust", "--no-sync"]
        initdb += ["--encoding=UTF8", "--no-locale"]
        done = subprocess.run(
            [str(self.bindir / "initdb"), *initdb],
            capture_output=True,
            text=True,
            user=user,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [str(self.bindir / "postgres"), "-D", str(data), "-p", str(port)]
        command += [f"-c{key}={value}" for key, value in settings.items()]
        super().__init__(
            command,
            cwd=self.root,
            env=dict(os.environ),
            port=port,
            ready=self.accepting,
            output=output,
            timeout=60,
            user=user,
        )

    def client(self, program: str, *args: str) -> list[str]:
        """The command line of ``program`` (psql, pg_isready, ...) logged in as the superuser."""
        login = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        return [str(self.bindir / program), *login, *args]

    def accepting(self) -> bool:
        return subprocess.run(self.client("pg_isready", "-q"), check=False).returncode == 0

    def uri(self, database: str) -> str:
        """The SQLAlchemy URI MLflow takes, with the psycopg 3 driver."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, query: str, database: str = "postgres") -> list[list[str]]:
        """Rows of ``query`` (every value as text; NULL is empty), via psql."""
        quiet = ["-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        command = self.client("psql", "-d", database, *quiet, "-c", query)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {query!r} failed:\n{done.stderr}")
        return [line.split("\t") for line in done.stdout.splitlines()]

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class S3Server(ServerProcess):
    """moto's S3 API server on 127.0.0.1 (`moto[server]`, a dev dependency); any key works."""

    credentials: ClassVar[dict[str, str]] = {
        "AWS_ACCESS_KEY_ID": "e2e-tests",
        "AWS_SECRET_ACCESS_KEY": "e2e-tests",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def __init__(self, output: Path) -> None:
        port = free_port()
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        env = {**os.environ, **self.credentials}
        super().__init__(
            command, cwd=output.parent, env=env, port=port, probe="/moto-api/", output=output
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            region_name=self.credentials["AWS_DEFAULT_REGION"],
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` in ``bucket``."""
        listing = self.client().get_paginator("list_objects_v2")
        pages = listing.paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


AUTH_CONFIG = """\
[mlflow]
default_permission = READ
database_uri = {database}
admin_username = {username}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
# A login is checked with PBKDF2 (~0.4 s of CPU here): each good one is trusted for a minute.
auth_cache_ttl_seconds = 60
"""


class MlflowServer(ServerProcess):
    """`mlflow server` on PostgreSQL, artifacts in an S3 bucket, basic authentication on.

    One worker and no job runner (~11 s to start). The users live in PostgreSQL too (``auth``),
    so the server writes nothing to disk; its admin account is made on the first start. The
    first start on an empty database also creates MLflow's schema (~1 minute on a busy
    machine): share one database per test session.
    """

    def __init__(
        self,
        mlflow: Path,
        *,
        backend: str,
        auth: str,
        artifacts: str,
        s3: S3Server,
        username: str,
        password: str,
        workdir: Path,
    ) -> None:
        port = free_port()
        config = workdir / "basic_auth.ini"
        config.write_text(AUTH_CONFIG.format(database=auth, username=username))
        env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
        env.update(
            s3.credentials,
            MLFLOW_S3_ENDPOINT_URL=s3.endpoint,
            MLFLOW_AUTH_CONFIG_PATH=str(config),
            MLFLOW_AUTH_ADMIN_PASSWORD=password,
            MLFLOW_FLASK_SERVER_SECRET_KEY="e2e-tests-csrf-key",
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        )
        options = {
            "--host": "127.0.0.1",
            "--port": str(port),
            "--workers": "1",
            "--backend-store-uri": backend,
            "--artifacts-destination": artifacts,
            "--app-name": "basic-auth",
        }
        command = [str(mlflow), "server", *(part for option in options.items() for part in option)]
        super().__init__(
            command,
            cwd=workdir,
            env=env,
            port=port,
            probe="/health",
            output=workdir / "mlflow-server.log",
            timeout=300,
        )

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Tripwire:
    """A TCP relay to a server that crashes the server at one exact request: a fault test.

    Clients connect to ``port``; bytes pass through unchanged until what a client has sent
    matches ``pattern``. Then the server is killed (`ServerProcess.kill`) before those bytes
    reach it and the client's connection drops, as when a server dies mid-request: the test
    knows exactly which requests were served before the crash.
    """

    def __init__(self, server: ServerProcess, pattern: re.Pattern[bytes]) -> None:
        self.server, self.pattern = server, pattern
        self.tripped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.server.port))
            except OSError:  # the server is down: so is the connection
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._watch, args=(client, upstream), daemon=True).start()

    def _watch(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client to server, looking for the request that crashes the server."""
        sent = b""
        with client, upstream, suppress(OSError):
            while chunk := self._receive(client):
                sent = (sent + chunk)[-65536:]
                if not self.tripped.is_set() and self.pattern.search(sent):
                    self.server.kill()
                    self.tripped.set()
                    return
                upstream.sendall(chunk)

    def _pipe(self, upstream: socket.socket, client: socket.socket) -> None:
        with suppress(OSError):
            while chunk := self._receive(upstream):
                client.sendall(chunk)

    @staticmethod
    def _receive(connection: socket.socket) -> bytes:
        try:
            return connection.recv(65536)
        except OSError:
            return b""
