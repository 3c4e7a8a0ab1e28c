"""Answer latency with the bundled model, split into retrieval, prompt processing and generation, plus time to
first token; baseline: raw llama-cpp-python streaming the very same messages, measured in the same run.

    .venv/bin/python bench/answer_latency.py [--questions 3] [--no-cli]

The bundled corpus is ingested into a fresh QA_HOME first. Ours runs `Assistant.stream` as `qa ask`/`qa chat` do
(the model keeps the previous prompt in its KV cache, so the fixed system prefix is not processed again); the
baseline resets that cache and streams the same messages straight from `Llama.create_chat_completion`. Prompt and
generation times are llama.cpp's own counters. Also times one cold `qa ask` (new process: imports, model loads).
Goals: first token <= 6 s, full answer <= 15 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100

ROOT = Path(__file__).resolve().parent.parent


def perf(client: Any, reset: bool = False) -> tuple[float, int, float, int]:
    """(prompt ms, prompt tokens, generation ms, generated tokens) since the last reset, from llama.cpp."""
    import llama_cpp

    d = llama_cpp.llama_perf_context(client._ctx.ctx)
    if reset:
        llama_cpp.llama_perf_context_reset(client._ctx.ctx)
    return d.t_p_eval_ms, d.n_p_eval, d.t_eval_ms, d.n_eval


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true")
    args = ap.parse_args()
    header("answer latency (bundled Qwen2.5-Coder-1.5B Q4_K_M)")

    from qa.chain import make_assistant
    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.store import open_store

    home = Path(tempfile.mkdtemp(prefix="qa-bench-answer-"))
    s = Settings(home=home, embeddings="minilm", llm="llamacpp")
    ingest([ROOT / "corpus"], open_store(s, make_embeddings(s)), s)
    pool = [q["question"] for q in map(json.loads, (ROOT / "eval/seed.jsonl").read_text().splitlines())
            if q.get("answerable")]
    questions, warm_up = pool[: args.questions], pool[-1]

    assistant = make_assistant(s)
    t0 = time.perf_counter()
    client = assistant.llm._load()  # type: ignore[attr-defined]
    print(f"model load: {time.perf_counter() - t0:.2f} s")
    seen: list[dict[str, Any]] = []
    original = client.create_chat_completion

    def recording(**kw: Any) -> Any:
        seen.append(kw)
        return original(**kw)

    client.create_chat_completion = recording
    assistant.ask(warm_up)  # not measured: the first generation pays one-off costs (graph, page faults)

    rows = []
    for q in questions:
        first_call = len(seen)
        perf(client, reset=True)
        t0 = time.perf_counter()
        t_pass = t_first = None
        for ev in assistant.stream(q):
            now = time.perf_counter()
            if ev.kind == "passages":
                t_pass = now
            elif ev.kind == "token" and t_first is None:
                t_first = now
        total = time.perf_counter() - t0
        p_ms, p_n, g_ms, g_n = perf(client)
        ours = {"retrieve": (t_pass or t0) - t0, "ttft": (t_first or t0) - t0, "total": total,
                "prompt_ms": p_ms, "prompt_tok": p_n, "gen_ms": g_ms, "gen_tok": g_n}

        kw = dict(seen[first_call])  # the answer's call (a second one may follow: the short-answer line)
        kw["stream"] = True
        client.reset()  # no prefix reuse for the baseline
        perf(client, reset=True)
        t0 = time.perf_counter()
        t_first = None
        for part in original(**kw):
            if t_first is None and part["choices"][0]["delta"].get("content"):
                t_first = time.perf_counter()
        raw_total = time.perf_counter() - t0
        rp_ms, rp_n, rg_ms, rg_n = perf(client)
        raw = {"ttft": (t_first or t0) - t0, "total": raw_total, "prompt_ms": rp_ms, "prompt_tok": rp_n,
               "gen_ms": rg_ms, "gen_tok": rg_n}
        rows.append((ours, raw))
        print(f"\nQ: {q}")
        print(f"  ours: retrieval {ours['retrieve']:.2f} s | prompt {p_n} tok in {p_ms / 1000:.2f} s | "
              f"generation {g_n} tok in {g_ms / 1000:.2f} s | first token {ours['ttft']:.2f} s | "
              f"total {total:.2f} s")
        print(f"  raw llama.cpp, same messages, cold cache: prompt {rp_n} tok in {rp_ms / 1000:.2f} s | "
              f"generation {rg_n} tok in {rg_ms / 1000:.2f} s | first token {raw['ttft']:.2f} s | "
              f"total {raw_total:.2f} s", flush=True)

    med = statistics.median
    print("\nmedians over", len(rows), "questions:")
    print(f"  ours: retrieval {med(o['retrieve'] for o, _ in rows):.2f} s, prompt processing "
          f"{med(o['prompt_ms'] for o, _ in rows) / 1000:.2f} s, generation {med(o['gen_ms'] for o, _ in rows) / 1000:.2f} s, "
          f"first token {med(o['ttft'] for o, _ in rows):.2f} s (goal <= 6), "
          f"full answer {med(o['total'] for o, _ in rows):.2f} s (goal <= 15)")
    print(f"  raw:  first token {med(r['ttft'] for _, r in rows):.2f} s, full {med(r['total'] for _, r in rows):.2f} s")
    print(f"  ratio ours/raw: first token {med(o['ttft'] / r['ttft'] for o, r in rows):.2f}x, "
          f"full answer {med(o['total'] / r['total'] for o, r in rows):.2f}x")

    if not args.no_cli:
        env = {**os.environ, "QA_HOME": str(home)}
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "qa", "ask", questions[0], "--json"], check=False, capture_output=True,
                             text=True, env=env)
        wall = time.perf_counter() - t0
        timings = json.loads(out.stdout)["timings"] if out.returncode == 0 else out.stderr[-300:]
        print(f"\ncold `qa ask` (new process: imports, both models load): {wall:.2f} s wall; its timings: {timings}")


if __name__ == "__main__":
    main()
