"""CI runs ruff and mypy (versions pinned in pyproject.toml's `dev` extra) as part of the test command: a finding
fails the build like a failing test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (./setup.sh --dev installs it)")
    return found


def test_ruff_finds_nothing() -> None:
    r = subprocess.run([_tool("ruff"), "check", "--output-format", "concise", "qa", "tests", "bench"], cwd=ROOT,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_finds_nothing() -> None:
    r = subprocess.run([_tool("mypy"), "qa"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
