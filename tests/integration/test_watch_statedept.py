"""`qa watch` on the State Department releases with the real models: three saved questions about recurring series
(Ukraine drawdowns, Rewards for Justice offers, the narcotics/transnational-crime rewards), asked on the releases up to
2022-06-20; then the next two weeks are ingested with `qa ingest --watch`. The two questions the new releases answer
get new answers citing them; the third is reported unchanged and is not generated again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STATE_DEPT, need_state_dept

pytestmark = pytest.mark.integration

SERIES = ("security-assistance-for-ukraine", "military-assistance-for-ukraine", "reward")
SINCE, BEFORE = "2022-06-10", "2022-06-21"  # ingested first: the 67 releases of these days plus the series (90 files)
AFTER = "2022-07-04"  # then the next two weeks: 75 files
QUESTIONS = {  # written for this test (not from eval/)
    "ukraine-total": "What is the latest total of U.S. security assistance to Ukraine since Russia's invasion?",
    "rfj-elections": "How much is Rewards for Justice offering for information on foreign interference in U.S. "
                     "elections?",
    "kinahan": "How much is the reward for information on the Kinahan organized crime group?",
}


def _qa(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_HOME=str(home), QA_N_THREADS=os.environ.get("QA_N_THREADS", "2"))
    out = subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, timeout=1800,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def _copy(names: list[str], to: Path) -> None:
    for name in names:
        shutil.copy2(STATE_DEPT / name, to / name)


def test_watch_reports_new_releases_and_does_not_regenerate_the_unchanged(tmp_path: Path) -> None:
    need_state_dept()
    files = sorted(p.name for p in STATE_DEPT.glob("*.md"))
    first = [f for f in files if SINCE <= f < BEFORE or (f < SINCE and any(s in f for s in SERIES))]
    later = [f for f in files if BEFORE <= f < AFTER]
    src, home = tmp_path / "releases", tmp_path / "home"
    src.mkdir()
    _copy(first, src)
    _qa("ingest", str(src), home=home)
    for name, question in QUESTIONS.items():
        _qa("watch", "add", question, "--name", name, "--no-ask", home=home)
    answered = json.loads(_qa("watch", "--json", home=home).stdout)
    assert [q["status"] for q in answered["questions"]] == ["first"] * 3
    before = {q["name"]: q["answer"] for q in answered["questions"]}
    assert all(not a["refused"] for a in before.values()), before
    assert all(c["date"] < BEFORE for a in before.values() for c in a["citations"])

    _copy(later, src)
    run = _qa("ingest", str(src), "--watch", home=home)
    print(f"\n$ qa ingest RELEASES --watch\n{run.stderr.splitlines()[-1]}\n{run.stdout}")  # the run, verbatim
    out = run.stdout
    assert "kinahan unchanged" in out
    assert f"3 saved questions on an index of {len(first) + len(later)} articles: 2 re-asked, 1 not re-asked (1 " \
           "generation saved)" in out
    log = {name: json.loads(_qa("watch", "log", name, "--json", home=home).stdout)["timeline"] for name in QUESTIONS}
    assert len(log["kinahan"]) == 1  # not generated again: its one answer is the first
    for name in ("ukraine-total", "rfj-elections"):
        assert len(log[name]) == 2, log[name]
        now = log[name][1]
        assert not now["refused"], now
        new = [c for c in now["sources"] if c["date"][:10] >= BEFORE]
        assert new, now  # cites a release from the weeks ingested since
        assert now["diff"]["new_sources"] and any(s["new_article"] for s in now["diff"]["new_sources"])
    assert "(new article)" in out and "new answer" in out
