"""Retrieval latency at 10k and 100k chunks: hybrid vs dense-only vs BM25-only, measured in the same run.

    QA_HOME=/tmp/retr-sd .venv/bin/python bench/retrieval_latency.py --out /tmp/retr-bench [--sizes 10000,100000]

The chunks of the ingested State Department corpus (QA_HOME) are replicated until the size is reached; each copy
gets its vector perturbed (Gaussian noise, renormalized), a few words dropped and its date shifted by whole years,
so copies are neither identical for Chroma nor for BM25. Each size is a fresh Chroma store on disk under --out
with its BM25 index beside it. The questions of eval/statedept.jsonl are asked (k=5), with and without as_of.
With --server, the same store is then served by a real `chroma run` on 127.0.0.1 and asked again through
chromadb's HTTP client (QA_CHROMA_URL), the BM25 index staying local as it does for users.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def build(src_settings, size: int, out: Path):  # type: ignore[no-untyped-def]
    import numpy as np

    from qa.config import Settings
    from qa.keyword import KeywordIndex
    from qa.store import open_store

    s = Settings(home=out / f"n{size}", embeddings=src_settings.embeddings)
    store = open_store(s, None)
    if store.count_chunks() >= size:
        return s
    src = open_store(src_settings, None).chunks.get(include=["documents", "metadatas", "embeddings"])
    rng = np.random.default_rng(0)
    rnd = random.Random(0)
    n_src = len(src["ids"])
    t0 = time.perf_counter()
    batch_ids, batch_docs, batch_meta, batch_vec = [], [], [], []
    for i in range(size):
        j = i % n_src
        copy = i // n_src
        vec = np.asarray(src["embeddings"][j], dtype=np.float32)
        meta = dict(src["metadatas"][j])
        text = src["documents"][j]
        if copy:
            vec = vec + rng.normal(0, 0.02, vec.shape).astype(np.float32)
            vec /= np.linalg.norm(vec)
            words = text.split(" ")
            text = " ".join(w for w in words if rnd.random() > 0.05)
            meta["article_id"] = f"{meta['article_id']}~{copy}"
            meta["date_ts"] = int(meta.get("date_ts", -1)) - copy * 365 * 86400 if int(meta.get("date_ts", -1)) > 0 else -1
        batch_ids.append(f"{meta['article_id']}::{meta['index']}")
        batch_docs.append(text)
        batch_meta.append(meta)
        batch_vec.append(vec.tolist())
        if len(batch_ids) == 2000 or i == size - 1:
            store.chunks.upsert(ids=batch_ids, documents=batch_docs, metadatas=batch_meta, embeddings=batch_vec)
            batch_ids, batch_docs, batch_meta, batch_vec = [], [], [], []
    t1 = time.perf_counter()
    KeywordIndex(s.bm25_dir).sync(store)
    print(f"built {size} chunks: chroma {t1 - t0:.0f} s, bm25 {time.perf_counter() - t1:.0f} s")
    return s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/retr-bench"))
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--questions", type=Path, default=Path("eval/statedept.jsonl"))
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--torch-threads", type=int, default=0,
                    help="0: torch's default, as qa runs (2 here); 1 is better on a busy machine")
    ap.add_argument("--modes", default="dense,bm25,hybrid")
    ap.add_argument("--server", action="store_true", help="also measure through a `chroma run` server")
    args = ap.parse_args()

    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.keyword import KeywordIndex
    from qa.retrieval import Filters, Retriever
    from qa.store import open_store

    src = Settings()
    emb = make_embeddings(src)
    if args.torch_threads:
        import torch

        # one query is too small to split: on a busy 2-core machine two torch threads wait on each other
        # (embedding one query: ~1.7 s with 2 threads vs ~0.14 s with 1 under load ~11)
        torch.set_num_threads(args.torch_threads)
    qs = [json.loads(x) for x in args.questions.read_text().splitlines() if x.strip()]
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}; {len(qs)} questions, k={args.k}")

    def measure(s: Settings, where: str, modes: list[str]) -> None:
        store = open_store(s, emb)
        kw = KeywordIndex(s.bm25_dir)
        n = store.count_chunks()
        for mode in modes:
            r = Retriever(store, s.model_copy(update={"retrieval": mode}), keyword=kw)
            r.search("warm up", args.k)
            for use_as_of in (False, True):
                lat = []
                for q in qs:
                    f = Filters(as_of=q["as_of"]) if use_as_of and q.get("as_of") else None
                    t = time.perf_counter()
                    r.search(q["question"], args.k, f)
                    lat.append((time.perf_counter() - t) * 1000)
                print(f"{n:>7} chunks  {where:8}  {mode:6}  as_of={'yes' if use_as_of else 'no '}  "
                      f"p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  mean {statistics.mean(lat):6.1f} ms",
                      flush=True)

    for size in [int(x) for x in args.sizes.split(",")]:
        s = build(src, size, args.out)
        measure(s, "embedded", args.modes.split(","))
        if args.server:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from tests.integration.servers import chroma_server

            with chroma_server(s.chroma_dir) as url:
                measure(s.model_copy(update={"chroma_url": url}), "server",
                        [m for m in args.modes.split(",") if m != "bm25"])  # BM25 is local either way


if __name__ == "__main__":
    main()
