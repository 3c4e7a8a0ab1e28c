"""Chat latency in a real terminal (tmux, 80 columns): start-up until the prompt accepts input, then per question the
times the chat itself reports from Enter: sources shown, first draft word (the generator's first token: what the
chat showed first before answers were checked sentence by sentence), first checked sentence (now the first words
shown as the answer), answer complete; and how long Ctrl-C takes to give the prompt back during generation.

    .venv/bin/python bench/chat_latency.py [--home DIR] [--transcript FILE] [--cols 80]

Uses the real models; QA_HOME defaults to a fresh temporary directory (the bundled corpus is ingested first and a
warm-up question is asked, so every measured question is warm). The transcript is the terminal's screen as a user
saw it (tmux capture-pane), verbatim.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WARM_UP = "Which extremist group did Blinken want to keep fighting?"
QUESTIONS = [
    "What did Blinken ask Sudani?",
    "What about Syria?",
    "Why did he go there now?",
    "Which country does Iraq still depend on for electricity?",
    "Who won the 2022 World Cup?",
]
INTERRUPTED = "What did Blinken say about the Islamic State?"
SESSION = f"qa-bench-{os.getpid()}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen(joined: bool = True) -> str:
    return tmux("capture-pane", "-t", SESSION, "-p", *(["-J"] if joined else []), "-S", "-")


def count(pattern: str) -> int:
    return len(re.findall(pattern, screen()))


def wait_for(pattern: str, seen: int, timeout: float = 1800) -> re.Match[str]:
    """Wait until `pattern` occurs on the screen more than `seen` times; the last occurrence."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(re.finditer(pattern, screen()))
        if len(found) > seen:
            return found[-1]
        time.sleep(0.05)
    raise TimeoutError(pattern)


ANSWERED = r"(?:sources [\d.]+ s · )?[^\n]*answer [\d.]+ s"
PROMPT = r"qa> *\n"


def prompt_after(m: re.Match[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not re.search(PROMPT, screen()[m.start():]):
        time.sleep(0.05)


def ask(question: str) -> dict[str, float]:
    answered = count(ANSWERED)
    tmux("send-keys", "-t", SESSION, question, "Enter")
    m = wait_for(ANSWERED, answered)
    prompt_after(m)
    return {k: float(v) for k, v in re.findall(r"(sources|first draft word|first checked sentence|answer) "
                                               r"([\d.]+) s", m.group())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", default="")
    ap.add_argument("--transcript", default="")
    ap.add_argument("--cols", type=int, default=80)
    args = ap.parse_args()
    if not shutil.which("tmux"):
        sys.exit("needs tmux (apt-get install tmux)")
    home = args.home or tempfile.mkdtemp(prefix="qa-chat-bench-")
    env = {"QA_HOME": home, "TERM": "xterm-256color"}
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    t0 = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", str(args.cols), "-y", "50",
         f"cd {os.getcwd()} && env {exports} {sys.executable} -m qa chat; sleep 3600")
    tmux("set-option", "-t", SESSION, "history-limit", "20000")
    try:
        wait_for(r"qa>", 0, 120)
        time.sleep(0.5)
        print(f"start-up until the prompt accepts input: {time.perf_counter() - t0:.2f} s", flush=True)
        print(f"warm-up {WARM_UP!r}: {ask(WARM_UP)}", flush=True)
        tmux("send-keys", "-t", SESSION, "/clear", "Enter")
        time.sleep(1)
        tmux("send-keys", "-t", SESSION, "C-l", "")
        tmux("clear-history", "-t", SESSION)
        time.sleep(0.5)
        rows = []
        for q in QUESTIONS:
            r = ask(q)
            rows.append((q, r))
            print(f"{q!r}: {r}", flush=True)
        transcript = screen(joined=False)
        transcript = transcript[transcript.rfind(f"qa> {QUESTIONS[0]}"):]  # from the first measured question
        # Ctrl-C while the answer is being generated: seconds until the prompt is back
        stops = count("stopped")
        tmux("send-keys", "-t", SESSION, INTERRUPTED, "Enter")
        wait_for(r"draft, unchecked", count(r"draft, unchecked"))
        t = time.perf_counter()
        tmux("send-keys", "-t", SESSION, "C-c", "")
        prompt_after(wait_for("stopped", stops))
        stop_s = time.perf_counter() - t
        print(f"Ctrl-C during generation: prompt back after {stop_s:.2f} s", flush=True)
        tmux("send-keys", "-t", SESSION, "/quit", "Enter")
    finally:
        tmux("kill-session", "-t", SESSION)
    answered = [r for _q, r in rows if "first checked sentence" in r]
    print("\n| question | first draft word | first checked sentence | ratio | answer complete |")
    print("|---|---|---|---|---|")
    for q, r in rows:
        fd, fs, a = r.get("first draft word"), r.get("first checked sentence"), r.get("answer", float("nan"))
        ratio = f"{fs / fd:.2f}×" if fd and fs else "—"
        print(f"| {q} | {fd if fd is not None else '—'} s | {fs if fs is not None else '—'} s | {ratio} | {a} s |")
    if answered:
        fd = statistics.median(r["first draft word"] for r in answered)
        fs = statistics.median(r["first checked sentence"] for r in answered)
        a = statistics.median(r["answer"] for r in answered)
        print(f"| median of the {len(answered)} answered | {fd:.1f} s | {fs:.1f} s | {fs / fd:.2f}× | {a:.1f} s |")
    if args.transcript:
        with open(args.transcript, "w") as f:
            f.write(transcript.rstrip() + "\n")


if __name__ == "__main__":
    main()
