"""What a benchmark ran on: CPU model, cores, memory and the load average (the machine may be shared)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu or platform.processor()}, {os.cpu_count()} cores{mem}; load average {load}"


def header(name: str) -> None:
    print(f"# {name}\nmachine: {describe()}", flush=True)
