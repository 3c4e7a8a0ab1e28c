"""Retrieval quality on a question set, dense vs BM25 vs hybrid, with and without `as_of`, in one run.

    QA_HOME=/tmp/retr-sd .venv/bin/python bench/retrieval_quality.py eval/statedept.jsonl [--depth 10]

Prints recall@1/@5, MRR (of gold article ids among the passages, best rank), recall@k for k=1..depth, and the
retrieval latency p50/p95 per mode and split. Only answerable questions count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--modes", default="dense,bm25,hybrid")
    ap.add_argument("--split", default="dev,heldout")
    ap.add_argument("--show-misses", action="store_true", help="print dev misses (never use on heldout)")
    ap.add_argument("--set", action="append", default=[], help="override a setting, e.g. rrf_k=20")
    args = ap.parse_args()

    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.keyword import KeywordIndex
    from qa.retrieval import Filters, Retriever
    from qa.store import open_store

    overrides: dict[str, Any] = dict(kv.split("=", 1) for kv in args.set)
    base = Settings(**overrides)
    store = open_store(base, make_embeddings(base))
    kw = KeywordIndex(base.bm25_dir)
    if not kw.is_current(store):
        t = time.perf_counter()
        print("syncing BM25:", kw.sync(store), f"{time.perf_counter() - t:.1f} s")
    qs = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    qs = [q for q in qs if q.get("answerable", True) and q.get("sources") and q["split"] in args.split.split(",")]
    store.embeddings.embed_query("warm up")  # type: ignore[union-attr]
    rows = []
    for mode in args.modes.split(","):
        r = Retriever(store, Settings(**{**overrides, "retrieval": mode}), keyword=kw)
        r.search("warm up", 1)
        for use_as_of in (False, True):
            for split in args.split.split(","):
                sub = [q for q in qs if q["split"] == split]
                if use_as_of and not any(q.get("as_of") for q in qs):
                    continue
                lat, r1, r5, rr, curve = [], [], [], [], [0] * args.depth
                for q in sub:
                    f = Filters(as_of=q["as_of"]) if use_as_of and q.get("as_of") else None
                    gold = set(q["sources"])
                    t = time.perf_counter()
                    ps = r.search(q["question"], args.k, f)
                    lat.append((time.perf_counter() - t) * 1000)
                    arts = [p.article_id for p in ps]
                    rank = next((i for i, a in enumerate(arts, 1) if a in gold), 0)
                    r1.append(rank == 1)
                    r5.append(0 < rank <= 5)
                    rr.append(1 / rank if rank else 0.0)
                    deep = [p.article_id for p in r.search(q["question"], args.depth, f)]
                    drank = next((i for i, a in enumerate(deep, 1) if a in gold), 0)
                    for i in range(args.depth):
                        curve[i] += 0 < drank <= i + 1
                    if args.show_misses and split == "dev" and rank != 1:
                        print(f"  miss[{mode},{'as_of' if use_as_of else '-'}] {q['id']} rank={rank} "
                              f"{q['question'][:90]} -> {arts[:3]}")
                n = len(sub)
                rows.append({"mode": mode, "as_of": use_as_of, "split": split, "n": n,
                             "R@1": sum(r1) / n, "R@5": sum(r5) / n, "MRR": statistics.mean(rr),
                             "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
                             "curve": [round(c / n, 3) for c in curve]})
    print(f"\nk={args.k}, depth={args.depth}, settings overrides={overrides}")
    print(f"{'mode':7} {'as_of':5} {'split':7} {'n':>3} {'R@1':>5} {'R@5':>5} {'MRR':>5} {'p50ms':>6} {'p95ms':>6}"
          "  recall@1..depth (depth search)")
    for x in rows:
        print(f"{x['mode']:7} {'yes' if x['as_of'] else 'no':5} {x['split']:7} {x['n']:3d} {x['R@1']:.3f} "
              f"{x['R@5']:.3f} {x['MRR']:.3f} {x['p50_ms']:6.1f} {x['p95_ms']:6.1f}  {x['curve']}")


if __name__ == "__main__":
    main()
