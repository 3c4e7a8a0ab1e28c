"""`qa chat` through a real pseudo-terminal (pexpect): the installed program as a user runs it.

Most tests use the fake generator and embeddings (QA_LLM=fake, QA_EMBEDDINGS=fake, selected like any setting) with
QA_FAKE_TOKEN_S / QA_FAKE_LOAD_S to make generation and loading last long enough to interrupt; the behaviour that
depends on the real models (llama.cpp stopping inside a decode, the follow-up rewrite) uses the bundled ones.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.integration
SEED_ID = "france24-blinken-iraq-militias"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FOOTER = r"answer \d+\.\d s"
STOPPED = "stopped"
TIMEOUT = 900  # 2 shared cores: loading, ingest and a few answers can take minutes when others are busy
SEED_Q = "What did Blinken ask Sudani?"
CHECKED = r"\[\d\](?:\x1b\[[0-9;]*m)* ✓"  # a sentence's citation and its check mark (colours between)
CRASH = ("Traceback", "Exception ignored", "Error in atexit")


def _env(home: Path, fake: bool = True, **extra: str) -> dict[str, str]:
    # prompt_toolkit asks the terminal for the cursor position; a pty has no terminal to answer (real ones do).
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"QA_HOME": str(home), "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if fake:
        env.update({"QA_LLM": "fake", "QA_EMBEDDINGS": "fake"})
    env.update(extra)
    return env


def _ctrl_c_default() -> None:
    """In the child: Ctrl-C as in a user's terminal. A test run started in the background (`pytest &`) has SIGINT
    ignored, which the child would inherit, and then no Ctrl-C test could pass."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spawn(home: Path, *args: str, cols: int = 120, fake: bool = True, **extra: str):  # type: ignore[no-untyped-def]
    child = pexpect.spawn(sys.executable, ["-m", "qa", "chat", *args], env=_env(home, fake, **extra),
                          encoding="utf-8", dimensions=(40, cols), timeout=TIMEOUT if not fake else 120,
                          preexec_fn=_ctrl_c_default)
    child.logfile_read = log = _Log()
    child.expect("qa>", timeout=60)
    return child, log


class _Log:
    """Everything the program wrote, to check afterwards that no traceback was ever printed."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, s: str) -> None:
        self.parts.append(s)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return ANSI.sub("", "".join(self.parts)).replace("\r", "")


def _quit(child) -> None:  # type: ignore[no-untyped-def]
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()


def _plain(s: str) -> str:
    return ANSI.sub("", s).replace("\r", "")


# --- verified streaming -----------------------------------------------------------------------------------------

def test_sentences_appear_checked_with_their_citation_before_the_answer_ends(tmp_path: Path) -> None:
    child, log = _spawn(tmp_path / "home", QA_FAKE_TOKEN_S="0.05")
    child.sendline(SEED_Q)
    child.expect(r"Found \d+ passages? in \d+ articles?:")
    child.expect(CHECKED)  # the sentence, its citation and its check mark, on the line the user reads
    child.expect(FOOTER)
    marks = dict(re.findall(r"(first checked sentence|answer) (\d+\.\d) s", _plain(child.before + child.after)))
    assert float(marks["first checked sentence"]) <= float(marks["answer"])
    child.expect("qa>")
    _quit(child)
    out = log.text()
    assert "draft, unchecked" in out  # the raw draft, when shown at all, says what it is
    assert not any(c in out for c in CRASH), out


# --- Ctrl-C -------------------------------------------------------------------------------------------------------

def _interrupt(child, times: int = 1) -> float:  # type: ignore[no-untyped-def]
    t = time.monotonic()
    for _ in range(times):
        child.sendintr()
        time.sleep(0.05)
    child.expect(STOPPED)
    child.expect("qa>")
    return time.monotonic() - t


@pytest.mark.parametrize("times", [1, 2, 5])
def test_ctrl_c_during_generation_stops_it_and_the_session_goes_on(tmp_path: Path, times: int) -> None:
    child, log = _spawn(tmp_path / "home", QA_FAKE_TOKEN_S="0.5")  # ~25 tokens: 12 s if nothing stopped it
    child.sendline(SEED_Q)
    child.expect("draft, unchecked")
    waited = _interrupt(child, times)
    assert waited < 3, f"prompt back after {waited:.1f} s"
    child.sendline("/k 2")
    child.expect("Showing the generator 2 passages")
    _quit(child)
    assert child.exitstatus == 0
    assert not any(c in log.text() for c in CRASH), log.text()


def test_ctrl_c_while_the_models_load_gives_the_prompt_back(tmp_path: Path) -> None:
    child, log = _spawn(tmp_path / "home", QA_FAKE_LOAD_S="20")
    child.sendline(SEED_Q)
    child.expect("loading the generator")  # the status follows the loader (after the empty index is filled)
    waited = _interrupt(child, 2)
    assert waited < 3, f"prompt back after {waited:.1f} s"
    child.sendline("/help")
    child.expect("/save")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert not any(c in log.text() for c in CRASH), log.text()


def test_typing_during_an_answer_is_kept_for_the_next_prompt(tmp_path: Path) -> None:
    child, _log = _spawn(tmp_path / "home", QA_FAKE_TOKEN_S="0.2")
    child.sendline(SEED_Q)
    child.expect("draft, unchecked")
    child.send("/k 2")  # typed while the answer streams, no Enter yet
    child.expect(FOOTER)
    assert "/k 2" not in _plain(child.before)  # not drawn into the answer
    child.expect("qa>")
    child.send("\r")
    child.expect("Showing the generator 2 passages")
    _quit(child)


def test_ctrl_c_stops_qa_ask_too(tmp_path: Path) -> None:
    env = _env(tmp_path / "home", QA_FAKE_TOKEN_S="0.5")
    child = pexpect.spawn(sys.executable, ["-m", "qa", "ask", SEED_Q], env=env, encoding="utf-8", timeout=120,
                          preexec_fn=_ctrl_c_default)
    child.logfile_read = log = _Log()
    child.expect(pexpect.TIMEOUT, timeout=8)  # ingest and retrieval done: the fake generator is writing
    t = time.monotonic()
    child.sendintr()
    child.sendintr()
    child.expect(pexpect.EOF)
    waited = time.monotonic() - t
    child.close()
    assert waited < 3, f"exited after {waited:.1f} s"
    assert child.exitstatus == 130 or child.signalstatus is not None
    assert not any(c in log.text() for c in CRASH), log.text()


# --- follow-ups and pasted lines ----------------------------------------------------------------------------------

def test_a_pasted_block_of_two_questions_is_asked_about_once_then_answered_twice(tmp_path: Path) -> None:
    child, _log = _spawn(tmp_path / "home")
    child.send(f"\x1b[200~{SEED_Q}\nWhich country does Iraq depend on for electricity?\x1b[201~")
    child.send("\r")
    child.expect("You pasted 2 lines")
    child.send("\r")  # Enter: separate questions
    child.expect(r"\(1/2\)")
    child.expect(FOOTER)
    child.expect(r"\(2/2\)")
    child.expect(FOOTER)
    child.expect("qa>")
    _quit(child)


# --- the conversation kept ------------------------------------------------------------------------------------

def test_save_then_continue_takes_up_the_conversation(tmp_path: Path) -> None:
    home, saved = tmp_path / "home", tmp_path / "talk.md"
    child, _log = _spawn(home)
    child.sendline(SEED_Q)
    child.expect(FOOTER)
    child.sendline(f"/save {saved}")
    child.expect("Saved 1 answer to")
    _quit(child)
    text = saved.read_text()
    assert f"## {SEED_Q}" in text and "Sources:" in text and "✓ “" in text

    child, _log = _spawn(home, "--continue")
    assert "Continuing the conversation" in _plain(child.before)
    child.sendline("/sources")
    child.expect(f"id {SEED_ID}")  # the last answer came back with the conversation
    child.sendline("What did he want to stop?")
    child.expect("Searching for:")  # a follow-up: it leans on the loaded question
    child.expect(FOOTER)
    _quit(child)


# --- layout ---------------------------------------------------------------------------------------------------

def test_at_60_columns_sources_fit_and_the_answer_is_not_hard_wrapped(tmp_path: Path) -> None:
    child, log = _spawn(tmp_path / "home", cols=60)
    child.sendline(SEED_Q)
    child.expect(FOOTER)
    child.expect("qa>")
    _quit(child)
    out = log.text()
    answer = next(x for x in out.splitlines() if x.rstrip().endswith("✓"))
    assert len(answer) > 60  # one line for the terminal to wrap: a copied answer is not broken
    sources = out[out.index(answer) + len(answer):re.search(r"\nsources \d", out).start()]  # type: ignore[union-attr]
    lines = [x for x in sources.splitlines() if x.strip() and not set(x) & set(SPINNER)]  # the erased live line
    assert lines and all(len(x) <= 60 for x in lines), lines
    assert lines[1].startswith("    ")  # title line, then the outlet/date line indented under it
    assert "score" not in out


# --- the real models ----------------------------------------------------------------------------------------

def test_real_models_checked_sentences_follow_up_with_there_and_ctrl_c_in_llama_cpp(tmp_path: Path) -> None:
    child, log = _spawn(tmp_path / "home", fake=False, cols=100)
    child.sendline(SEED_Q)
    child.expect(CHECKED)
    child.expect(FOOTER)
    first = _plain(child.before)
    assert "militia" in first.lower(), first

    child.sendline("Why did he go there?")
    child.expect(r"Searching for:([^\n]*)\n")
    shown = _plain(child.match.group(1))
    assert "there" not in shown.lower() and "Blinken" in shown, shown
    child.expect(r"Found \d+ passages?")
    child.expect("reading the passages")  # llama.cpp is reading the prompt: one long C call
    waited = _interrupt(child, 2)
    assert waited < 3, f"prompt back after {waited:.1f} s"

    child.sendline("Which country does Iraq still depend on for electricity?")
    child.expect(FOOTER)  # the model still answers after an aborted decode (its cache was reset)
    assert "Iran" in _plain(child.before), _plain(child.before)
    _quit(child)
    assert child.exitstatus == 0
    assert not any(c in log.text() for c in CRASH), log.text()


def test_piped_chat_with_the_real_models_prints_cited_json(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "qa", "chat", "--json"], input=f"{SEED_Q}\n",
                         capture_output=True, text=True, env=_env(tmp_path / "home", fake=False), timeout=TIMEOUT,
                         check=False)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(rows) == 1
    assert not rows[0]["refused"] and "militia" in rows[0]["answer"].lower()
    assert any(c["article_id"] == SEED_ID for c in rows[0]["citations"])
    assert "Traceback" not in out.stderr
