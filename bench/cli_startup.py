"""`qa --help` wall time vs a bare Python start-up, measured in the same run.

    .venv/bin/python bench/cli_startup.py [--runs 10]

Both are fresh processes (`python -m qa --help` and `python -c pass`); prints min and median. Goal: qa --help <= 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100


def wall(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    header("qa --help start-up")
    qa_bin = Path(sys.executable).parent / "qa"
    wall([str(qa_bin), "--help"], 2)  # warm the file cache
    qa = wall([str(qa_bin), "--help"], args.runs)
    bare = wall([sys.executable, "-c", "pass"], args.runs)
    print(f"qa --help:              min {min(qa):.3f} s  median {statistics.median(qa):.3f} s   (goal <= 0.3 s)")
    print(f"python -c pass (base):  min {min(bare):.3f} s  median {statistics.median(bare):.3f} s")
    print(f"ratio qa --help / bare python (median): {statistics.median(qa) / statistics.median(bare):.1f}x")


if __name__ == "__main__":
    main()
