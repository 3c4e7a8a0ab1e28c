"""Chat latency through a real pseudo-terminal: start-up until the prompt accepts input, then per question the
times the chat itself reports (from Enter): sources shown, first answer words, answer complete.

    .venv/bin/python bench/chat_latency.py [--home DIR] [--transcript FILE]

Uses the real models; QA_HOME defaults to a fresh temporary directory (the bundled corpus is ingested first).
The first question also waits for the models to finish loading, so it is reported apart from the median.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

import pexpect

QUESTIONS = [
    "What did Blinken ask Sudani?",
    "What did he want to stop regarding Syria?",
    "Which country does Iraq still depend on for electricity?",
    "Which extremist group did Blinken want to keep fighting?",
    "When did the U.S. invade Iraq?",
    "And who did that invasion remove?",
    "Who won the 2022 World Cup?",
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FOOTER = re.compile(r"(sources [\d.]+ s)?( · )?(first words [\d.]+ s)?( · )?answer ([\d.]+) s")


def final_text(raw: str) -> str:
    text = ANSI.sub("", raw).replace("\r", "")
    last = max(text.rfind(c) for c in SPINNER)
    return (text[last + 1:] if last >= 0 else text).strip("\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", default="")
    ap.add_argument("--transcript", default="")
    args = ap.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="qa-chat-bench-")
    env = {**os.environ, "QA_HOME": home, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    t0 = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "qa", "chat"], env=env, encoding="utf-8", dimensions=(50, 200),
                          timeout=1800)
    child.expect("qa>")
    startup = time.perf_counter() - t0
    print(f"start-up until the prompt accepts input: {startup:.2f} s", flush=True)
    rows = []
    transcript = []
    for q in QUESTIONS:
        child.sendline(q)
        child.expect(r"(sources [\d.]+ s · )?(first words [\d.]+ s · )?answer [\d.]+ s")
        nums = {k: float(v) for k, v in re.findall(r"(sources|first words|answer) ([\d.]+) s", child.after)}
        rows.append(nums)
        transcript.append(f"qa> {q}\n{final_text(child.before)}\n{child.after}")
        print(f"{q!r}: {nums}", flush=True)
        child.expect("qa>")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    rest = rows[1:]
    for key in ("sources", "first words", "answer"):
        vals = [r[key] for r in rest if key in r]
        if vals:
            print(f"median {key} (questions 2-{len(rows)}, n={len(vals)}): {statistics.median(vals):.1f} s "
                  f"(min {min(vals):.1f}, max {max(vals):.1f}); first question {rows[0].get(key, float('nan')):.1f} s")
    if args.transcript:
        with open(args.transcript, "w") as f:
            f.write("\n\n".join(transcript) + "\n")


if __name__ == "__main__":
    main()
