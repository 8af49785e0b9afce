# bench/_common.py: what every side-by-side benchmark shares: the interpreters of ours and of the
# original (installed on first use into its own venv), the machine line and the table renderer.
import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_VENV_PYTHON = BENCH_DIR.parent / ".venv" / "bin" / "python"
ORIGINAL_VERSION = "0.12.0"  # the version the contract is written against (API.md)


def original_venv(version=ORIGINAL_VERSION):
    return Path.home() / ".cache" / "net-bench" / f"venv-{version}"


def ours_command():
    return [str(REPO_VENV_PYTHON) if REPO_VENV_PYTHON.exists() else sys.executable]


def original_command(version=ORIGINAL_VERSION):
    """Command running the interpreter of the original `version` (0.12.0 unless a benchmark
    needs a later one, e.g. RedEX is only in the 0.18.0 wheel), isolated (-I) from PYTHONPATH
    and user site so it can only import the original; installs it into its own venv
    (~/.cache/net-bench/venv-<version>) if needed; None if that fails."""
    venv, requirement = original_venv(version), f"ai2070-net=={version}"
    python = [str(venv / "bin" / "python"), "-I"]
    try:
        if not venv.exists():
            print(f"note: creating {venv}", file=sys.stderr)
            subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        if (
            subprocess.run(
                [*python, "-c", "import net"], capture_output=True, check=False
            ).returncode
            != 0
        ):
            print(f"note: installing {requirement} into {venv}", file=sys.stderr)
            subprocess.run([*python, "-m", "pip", "install", "-q", requirement], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"note: could not install the original ({exc}); showing ours only", file=sys.stderr)
        return None
    return python


def native_tool(name):
    """Path of a native helper built with the tests (bench/CMakeLists.txt), or None."""
    for build in ("dev", "ci", "py"):
        path = BENCH_DIR.parent / "build" / build / "bench" / name
        if path.exists():
            return str(path)
    return None


def run_worker(command, worker, quick):
    """A worker's JSON output (its --quick variant when asked)."""
    cmd = [*command, str(worker)] + (["--quick"] if quick else [])
    return json.loads(subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout)


def run_both(worker, args, version=ORIGINAL_VERSION):
    """The worker's results under ours and under the original `version` (None when the original
    is skipped, cannot be installed, or its run fails)."""
    ours = run_worker(ours_command(), worker, args.quick)
    original = None if args.no_original else original_command(version)
    if original is None:
        return ours, None
    try:
        return ours, run_worker(original, worker, args.quick)
    except subprocess.CalledProcessError:
        print("note: the original's run failed; showing ours only", file=sys.stderr)
        return ours, None


def side_by_side_parser(what, version=ORIGINAL_VERSION):
    """The options every side-by-side benchmark takes: --quick, --no-original, --markdown."""
    parser = argparse.ArgumentParser(description=f"{what}, ours vs the original {version}.")
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument("--no-original", action="store_true", help="benchmark ours only")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return parser


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def ratio(ours, original):
    return "n/a" if ours is None or original is None else f"{ours / original:.2f}x"


def render(headers, rows, markdown):
    """Plain text with aligned columns, or a Markdown table; text columns left, numbers right."""
    numeric = [False] + [True] * (len(headers) - 1)
    if markdown:
        lines = [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
        ]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers)] + [line(row) for row in rows])
