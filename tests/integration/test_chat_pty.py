"""`qa chat` through a real pseudo-terminal (pexpect) and piped, with the real models on the bundled corpus."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.integration
SEED_ID = "france24-blinken-iraq-militias"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FOOTER = r"answer \d+\.\d s"
TIMEOUT = 900  # 2 shared cores: loading, ingest and a few answers can take minutes when others are busy


def _env(home: Path) -> dict[str, str]:
    # prompt_toolkit asks the terminal for the cursor position; a pty has no terminal to answer (real ones do).
    return {**os.environ, "QA_HOME": str(home), "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _final(raw: str) -> str:
    """What stays on screen after an answer: the text after the last frame of the (erased) streaming display."""
    text = ANSI.sub("", raw).replace("\r", "")
    last = max(text.rfind(c) for c in SPINNER)
    return text[last + 1:] if last >= 0 else text


def test_chat_in_a_terminal_follow_up_sources_ctrl_c_and_quit(tmp_path: Path) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "qa", "chat"], env=_env(tmp_path / "home"), encoding="utf-8",
                          dimensions=(50, 220), timeout=TIMEOUT)
    try:
        child.expect("qa>", timeout=60)

        child.sendline("What did Blinken ask Sudani?")
        child.expect(r"Found \d+ passages? from \d+ articles?:")
        child.expect(FOOTER)
        first = _final(child.before)
        assert "militia" in first.lower(), first
        assert "✓" in first

        child.sendline("What did he want to stop regarding Syria?")
        child.expect(r"Searching for:([^\n]*)\n")  # styled: ANSI codes sit between the label and the text
        shown = ANSI.sub("", child.match.group(1))
        assert "Blinken" in shown and "could not rewrite" not in shown, shown
        child.expect(FOOTER)
        second = _final(child.before)
        # The answer pipeline (not the chat) decides this; a failure here is an answer-quality failure.
        assert re.search(r"(arms|weapons?)\b.*\[\d\]", second, re.DOTALL | re.IGNORECASE) and "transfer" in second.lower(), second
        assert "✓" in second or "unverified" in second

        child.sendline("/sources")
        child.expect(rf"id {SEED_ID}")
        child.expect("/open N shows")

        child.sendline("What did Blinken say about the Islamic State?")
        child.expect(r"Found \d+ passages?")
        child.expect("reading the passages")  # the generator has the prompt
        child.sendintr()
        child.expect("stopped")
        child.expect("qa>")
        child.sendline("/k 3")
        child.expect("Showing the generator 3 passages")  # the session survived Ctrl-C

        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_piped_chat_with_the_real_models_prints_cited_json(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "qa", "chat", "--json"], input="What did Blinken ask Sudani?\n",
                         capture_output=True, text=True, env=_env(tmp_path / "home"), timeout=TIMEOUT, check=False)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(rows) == 1
    assert not rows[0]["refused"] and "militia" in rows[0]["answer"].lower()
    assert any(c["article_id"] == SEED_ID for c in rows[0]["citations"])
    assert "Traceback" not in out.stderr
