"""Real broker servers for tests and benchmarks: ``redis-server`` and ``nats-server -js``.

Each starts on a free loopback port in its own temporary directory, is stopped by pid, and
can be restarted on the same port with its data (Redis's append-only file, JetStream's
store), so fault tests can take the broker away in the middle of a run.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{proc.args[0]} did not listen on {port} within {timeout_s}s")


class _Server:
    program = ""

    def __init__(self) -> None:
        if shutil.which(self.program) is None:
            raise RuntimeError(f"{self.program} is not installed")
        self.dir = Path(tempfile.mkdtemp(prefix=f"net-{self.program}-"))
        self.port = free_tcp_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 (the child owns it)
        self.proc = subprocess.Popen(
            self.command(), cwd=self.dir, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        _wait_for_port(self.port, self.proc)
        self.ready()

    def ready(self) -> None:
        """Waits until the server serves requests, not just accepts connections."""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, pause_s: float = 0.0, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        time.sleep(pause_s)
        self.start()

    def close(self) -> None:
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RedisServer(_Server):
    """redis-server with the append-only file on (fsync always), so a restart keeps every write;
    durable=False keeps everything in memory (for benchmarks of the client side)."""

    program = "redis-server"

    def __init__(self, durable: bool = True) -> None:
        self.durable = durable
        super().__init__()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--save", "", "--appendonly", "yes" if self.durable else "no",
            "--appendfsync", "always", "--loglevel", "warning",
        ]  # fmt: skip

    def ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # LOADING while it replays the append-only file
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.01)
        raise RuntimeError("redis-server never answered PING")

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip()


class NatsServer(_Server):
    """nats-server with JetStream, its store in the server's directory."""

    program = "nats-server"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            "nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js",
            "-sd", str(self.dir / "store"),
        ]  # fmt: skip

    def request(self, subject: str, payload: bytes = b"", timeout_s: float = 10.0) -> bytes:
        """One NATS request over a raw socket (no client library): the reply's payload."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s) as sock:
            reader = sock.makefile("rb")
            reader.readline()  # INFO
            sock.sendall(
                b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'
                b"SUB _INBOX.test 1\r\n"
                + f"PUB {subject} _INBOX.test {len(payload)}\r\n".encode()
                + payload
                + b"\r\n"
            )
            while True:
                line = reader.readline()
                if not line:
                    raise RuntimeError(f"nats-server closed the connection during {subject}")
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                    continue
                if line.startswith(b"-ERR"):
                    raise RuntimeError(line.decode().strip())
                if line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    return reader.read(size + 2)[:size]

    def jetstream(self, api: str, body: dict | None = None) -> dict:
        """A JetStream API call, e.g. jetstream("STREAM.INFO.net_shard_0")."""
        payload = json.dumps(body).encode() if body is not None else b""
        return json.loads(self.request(f"$JS.API.{api}", payload))
