"""The benchmarks are not timed tests; CI only checks that they run and report figures."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *args: str) -> str:
    """The benchmark's stdout; it must exit 0 and print no note about missing events."""
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert " saw " not in result.stderr, result.stderr
    return result.stdout


def test_bus_benchmark_runs_and_prints_every_operation():
    out = run("bus.py", "--quick", "--no-original")
    for operation in ("ingest_raw", "ingest_raw_batch", "ingest(dict)", "poll"):
        assert operation in out


def test_memory_benchmark_runs_and_retains_every_event():
    out = run("bus_memory.py", "--events", "100000")
    assert "retained 100,000 events" in out


def test_mesh_benchmark_runs_and_reports_throughput_and_round_trips():
    out = run("mesh.py", "--quick", "--no-original")
    assert "events" in out and "64 KiB" in out and "1024 KiB" in out
    assert "pings" in out
    assert (
        "of 20,000 events arrived" not in out
    )  # fire-and-forget on loopback with credit loses nothing


def test_brokers_benchmark_runs_against_real_servers():
    out = run("brokers.py", "--quick", "--no-original", "--events", "5000")
    for case in ("redis write", "redis read (poll)", "jetstream write", "jetstream read (poll)"):
        assert case in out


def test_tokens_benchmark_runs_and_prints_every_operation():
    out = run("tokens.py", "--quick", "--no-original")
    for operation in (
        "verify_token",
        "parse_token",
        "issue_token",
        "install_token",
        "channel_hash",
    ):
        assert operation in out


def test_channels_benchmark_runs_every_fan_out_and_the_discovery_table():
    out = run("channels.py", "--quick", "--no-original")
    for row in ("\n1 ", "\n4 ", "\n16 ", "find_nodes({})", "verify_token/s"):
        assert row in out


def test_storage_benchmark_runs_and_prints_every_row():
    out = run("storage.py", "--quick", "--no-original")
    for row in (
        "append 8 B",
        "append 1 KiB",
        "append_batch 1000 x 256 B",
        "fsync_interval_ms=100",
        "fsync_every_n=1",
        "raw write+fdatasync",
        "append -> tail next()",
        "tasks.create",
        "create + wait_for_seq round trip",
        "list_tasks over 10,000 tasks",
        "snapshot encode 10,000 tasks",
        "open_from_snapshot decode 10,000 tasks",
    ):
        assert row in out
    assert "n/a: ours" not in out  # every row of ours ran
