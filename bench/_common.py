# bench/_common.py: what every side-by-side benchmark shares: the interpreters of ours and of the
# original (installed on first use into its own venv), the machine line and the table renderer.
import argparse
import platform
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_VENV_PYTHON = BENCH_DIR.parent / ".venv" / "bin" / "python"
ORIGINAL_VENV = Path.home() / ".cache" / "net-bench" / "venv-0.12.0"
ORIGINAL_REQUIREMENT = "ai2070-net==0.12.0"


def ours_command():
    return [str(REPO_VENV_PYTHON) if REPO_VENV_PYTHON.exists() else sys.executable]


def original_command():
    """Command running the original's interpreter, isolated (-I) from PYTHONPATH and user site so
    it can only import the original; installs it into its own venv if needed; None if that fails."""
    python = [str(ORIGINAL_VENV / "bin" / "python"), "-I"]
    try:
        if not ORIGINAL_VENV.exists():
            print(f"note: creating {ORIGINAL_VENV}", file=sys.stderr)
            subprocess.run(["python3", "-m", "venv", str(ORIGINAL_VENV)], check=True)
        if (
            subprocess.run(
                [*python, "-c", "import net"], capture_output=True, check=False
            ).returncode
            != 0
        ):
            print(f"note: installing {ORIGINAL_REQUIREMENT} into {ORIGINAL_VENV}", file=sys.stderr)
            subprocess.run(
                [*python, "-m", "pip", "install", "-q", ORIGINAL_REQUIREMENT], check=True
            )
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


def side_by_side_parser(what):
    """The options every side-by-side benchmark takes: --quick, --no-original, --markdown."""
    parser = argparse.ArgumentParser(description=f"{what}, ours vs the original 0.12.0.")
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
