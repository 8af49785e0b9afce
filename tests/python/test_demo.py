"""The demo (python -m net demo, net-demo): runs to the end and reports every event."""

import io
import re
import subprocess
import sys

import pytest
from net import demo

EVERY_EVENT_POLLED = {"events": 20000, "ingested": 20000, "polled": 20000, "dropped": 0}


def summary_counts(output: str) -> dict[str, int]:
    """The summary table's event counts: {"events", "ingested", "polled", "dropped"} -> count."""
    rows = dict(
        re.findall(r"^\| (events|ingested|polled|dropped) +\| +([\d,]+) \|$", output, re.MULTILINE)
    )
    return {label: int(count.replace(",", "")) for label, count in rows.items()}


def test_python_m_net_demo_reports_every_event():
    proc = subprocess.run(
        [sys.executable, "-m", "net", "demo", "--events", "20000", "--shards", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert summary_counts(proc.stdout) == EVERY_EVENT_POLLED
    assert "latency p99" in proc.stdout
    assert "100%" in proc.stderr  # the progress line's last drawing


def test_main_one_event_per_call(capsys):
    assert demo.main(["--events", "20000", "--shards", "2", "--batch", "1"]) == 0
    out = capsys.readouterr().out
    assert summary_counts(out) == EVERY_EVENT_POLLED
    assert re.search(r"^\| batch +\| +1 \|$", out, re.MULTILINE)


def test_small_ring_drops_the_oldest_and_accounts_for_every_event():
    result = demo.run(200_000, shards=1, batch=1000, ring_capacity=1024)
    assert result.ingested == 200_000
    assert result.polled + result.dropped == 200_000
    assert result.polled >= 1024  # the newest events, a full ring of them, are never dropped


def test_a_paced_producer_holds_its_rate_and_the_latency_is_the_steady_state():
    unpaced = demo.run(200_000, shards=2, batch=1000, progress_stream=io.StringIO())
    paced = demo.run(20_000, shards=2, batch=100, progress_stream=io.StringIO(), rate=100_000)
    assert paced.polled == 20_000 and paced.dropped == 0
    assert paced.ingest_s >= 0.19  # 20,000 events at 100,000/s take 0.2 s
    assert paced.ingested / paced.ingest_s <= 110_000
    # No backlog to work through: each event waits at most a poll's pause, not the whole run.
    assert paced.latency_p50_ns < unpaced.latency_p99_ns
    assert paced.latency_p50_ns < 50_000_000


def test_the_rate_option_is_in_the_summary(capsys):
    assert demo.main(["--events", "5000", "--shards", "1", "--rate", "50000"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\| producer rate +\| +50,000 events/s \|$", out, re.MULTILINE)
    assert summary_counts(out) == {"events": 5000, "ingested": 5000, "polled": 5000, "dropped": 0}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_redraws_one_line_on_a_terminal():
    stream = Terminal()
    progress = demo.Progress(total=5_000_000, stream=stream)
    progress.update(1_000_000, 500_000, force=True)
    progress.finish(5_000_000, 5_000_000)
    first, middle, last = stream.getvalue().split("\r")
    assert first == ""
    assert middle.startswith("[#               ]  10%  in 1,000,000 ")
    assert last.startswith("[################] 100%  in 5,000,000 ")
    assert last.endswith("\x1b[K\n")  # the rest of the line is erased
    for line in (middle, last):
        assert len(line.split("\x1b[K")[0]) < progress.columns  # never wraps


@pytest.mark.parametrize(
    ("events", "shards", "capacity"),
    [(5_000_000, 2, 1 << 22), (200_000, 2, 1 << 17), (10, 1, 1024), (100_000, 1, 1 << 17)],
)
def test_ring_capacity_holds_the_events_within_bounds(events, shards, capacity):
    assert demo.ring_capacity_for(events, shards) == capacity


@pytest.mark.parametrize(
    "argv", [["--events", "0"], ["--batch", "-1"], ["--ring-capacity", "1000"], ["--rate", "0"]]
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main(argv)
    assert exit_info.value.code == 2
    assert "error: argument" in capsys.readouterr().err
