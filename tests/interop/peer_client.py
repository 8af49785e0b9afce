"""Test-side client for original_peer.py: runs the ORIGINAL `net` 0.12.0 in a child process.

Pure stdlib; `OriginalPeer.call(op, **kwargs)` sends one JSON command and returns its result.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ORIGINAL_VERSION = "0.12.0"
DEFAULT_VENV = Path.home() / ".cache" / "net-bench" / f"venv-{ORIGINAL_VERSION}"
PEER_SCRIPT = Path(__file__).with_name("original_peer.py")


def free_udp_addr(host: str = "127.0.0.1") -> str:
    """An "ip:port" whose UDP port was free a moment ago (for Net, which needs fixed ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return f"{host}:{s.getsockname()[1]}"


class PeerError(RuntimeError):
    """The original raised; the message is "<ExceptionClass>: <message>" as the peer saw it."""


class OriginalUnavailable(RuntimeError):
    """No python with the original package could be found or installed."""


def _has_original(python: Path) -> bool:
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('ai2070-net'))"]
    try:
        out = subprocess.run(probe, check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == ORIGINAL_VERSION


def ensure_original_python() -> str:
    """Path of a python with ai2070-net==0.12.0, creating the default venv if needed."""
    env = os.environ.get("NET_ORIGINAL_PYTHON")
    python = Path(env) if env else DEFAULT_VENV / "bin" / "python"
    if _has_original(python):
        return str(python)
    if env:
        raise OriginalUnavailable(
            f"NET_ORIGINAL_PYTHON={env} has no ai2070-net=={ORIGINAL_VERSION}"
        )
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(DEFAULT_VENV)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"ai2070-net=={ORIGINAL_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise OriginalUnavailable(
            f"cannot install ai2070-net=={ORIGINAL_VERSION} into {DEFAULT_VENV}: {e}"
        ) from e
    if not _has_original(python):
        raise OriginalUnavailable(f"{python} still lacks ai2070-net=={ORIGINAL_VERSION}")
    return str(python)


class OriginalPeer:
    """One child process running original_peer.py; commands are answered strictly in order."""

    def __init__(
        self, python: str | None = None, default_timeout_s: float = 30.0, name: str = "peer"
    ) -> None:
        self.name = name
        self.default_timeout_s = default_timeout_s
        self.proc = subprocess.Popen(
            [python or ensure_original_python(), str(PEER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # stderr: pytest shows it
            text=True,
            bufsize=1,
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self._replies.put(line)
        except (OSError, ValueError):
            pass  # pipe closed under us by close()
        self._replies.put(None)  # EOF

    def call(self, op: str, call_timeout_s: float | None = None, **kwargs: Any) -> Any:
        """Send {"op": op, **kwargs}; return the result or raise PeerError / TimeoutError.

        call_timeout_s bounds the wait for the reply (default: default_timeout_s, extended
        past a command's own "timeout_s" field)."""
        assert self.proc.stdin is not None
        timeout = call_timeout_s
        if timeout is None:
            timeout = max(self.default_timeout_s, (kwargs.get("timeout_s") or 0) + 10.0)
        try:
            self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise PeerError(f"{self.name} is gone (rc={self.proc.poll()}): {e}") from e
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()  # the reply stream is out of step now; the peer is unusable
            raise TimeoutError(f"{self.name}: no reply to {op!r} within {timeout}s") from None
        if line is None:
            raise PeerError(f"{self.name} exited (rc={self.proc.wait()}) during {op!r}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise PeerError(reply["error"])
        return reply["result"]

    def mesh(self, psk: str, **options: Any) -> dict[str, Any]:
        """A NetMesh on 127.0.0.1 (ephemeral port) in the peer; returns its keys, ids and addr."""
        return self.call(
            "mesh",
            bind="127.0.0.1:0",
            psk=psk,
            heartbeat_interval_ms=options.get("heartbeat_interval_ms"),
            session_timeout_ms=options.get("session_timeout_ms"),
            identity_seed_hex=None,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self, timeout_s: float = 5.0) -> None:
        """Ask the peer to exit; kill it if it does not within timeout_s."""
        if self.proc.poll() is None:
            try:
                self.call("exit", call_timeout_s=timeout_s)
                self.proc.wait(timeout=timeout_s)
            except (PeerError, TimeoutError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


def wait_for(fetch: Callable[[], Any], ok: Callable[[Any], bool], timeout_s: float = 5.0) -> Any:
    """Call fetch() until ok(value) holds; return the last value (the caller asserts on it)."""
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.01)
        value = fetch()
    return value
