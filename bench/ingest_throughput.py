"""Ingest throughput vs raw SentenceTransformer.encode over the same chunk texts, and an unchanged re-ingest.

    .venv/bin/python bench/ingest_throughput.py [--articles 300] [PATH ...]

PATH defaults to ../shared/corpus/state-dept-2021-2022/articles; `--articles N` takes every k-th file so N are
used (0 = all). Ours is `qa.ingest.ingest` end to end (read, chunk, embed, write Chroma, BM25 sync) into a fresh
QA_HOME; the baseline is `SentenceTransformer.encode` alone, same model object and batch size, over exactly the
texts ours embedded (and a default float32 SentenceTransformer as a second baseline: ours computes in bfloat16
where the CPU has it, QA_EMBED_DTYPE). Model loading is outside all timings. Goals: ours >= 0.9x raw; re-ingest <= 2% of first.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100

STATE_DEPT = Path(__file__).resolve().parent.parent.parent / "shared/corpus/state-dept-2021-2022/articles"


def pick(paths: list[Path], n: int, dest: Path) -> list[Path]:
    """Every k-th file of the folders, copied (so a re-ingest sees the very same files)."""
    files = sorted(f for p in paths for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file())
    if n and n < len(files):
        step = len(files) / n
        files = [files[int(i * step)] for i in range(n)]
    dest.mkdir(parents=True)
    for f in files:
        shutil.copy2(f, dest / f.name)
    return [dest]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", type=Path, default=[STATE_DEPT])
    ap.add_argument("--articles", type=int, default=300)
    args = ap.parse_args()
    header("ingest throughput")

    from qa.chunking import chunk_article
    from qa.config import Settings
    from qa.embedding import make_embeddings, token_counter
    from qa.ingest import _capped_title, ingest
    from qa.loading import load_articles
    from qa.store import embedding_text, open_store
    from qa.types import Article

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-ingest-"))
    corpus = pick(args.paths, args.articles, tmp / "articles")
    s = Settings(home=tmp / "home", embeddings="minilm", llm="fake")
    emb = make_embeddings(s)
    model = emb._client  # type: ignore[attr-defined]  # the SentenceTransformer behind HuggingFaceEmbeddings
    model.encode(["warm up"] * 8)
    store = open_store(s, emb)

    t0 = time.perf_counter()
    first = ingest(corpus, store, s)
    ours_s = time.perf_counter() - t0

    count = token_counter()
    texts = [embedding_text(_capped_title(a), c) for a in load_articles(corpus) if isinstance(a, Article)
             for c in chunk_article(a, count, s.chunk_tokens, s.chunk_overlap_sentences)]
    assert len(texts) == first.chunks, (len(texts), first.chunks)
    t0 = time.perf_counter()
    model.encode(texts, batch_size=s.embed_batch_size, normalize_embeddings=True)
    raw_s = time.perf_counter() - t0

    from sentence_transformers import SentenceTransformer

    from qa.embedding import embed_dtype, minilm_path

    plain = SentenceTransformer(str(minilm_path()), device="cpu")  # float32, as SentenceTransformer loads it
    plain.encode(["warm up"] * 8)
    t0 = time.perf_counter()
    plain.encode(texts, batch_size=s.embed_batch_size, normalize_embeddings=True)
    plain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ingest(corpus, store, s)
    re_s = time.perf_counter() - t0
    assert again.unchanged == first.added and again.chunks == 0

    n = first.chunks
    print(f"articles: {first.added}, chunks: {n}, mean chunk {sum(map(len, texts)) / n:.0f} chars")
    print(f"ours (qa ingest):          {ours_s:7.1f} s  {n / ours_s:6.1f} chunks/s")
    print(f"raw encode, same model ({embed_dtype(s)}): {raw_s:7.1f} s  {n / raw_s:6.1f} chunks/s")
    print(f"raw encode, float32 SentenceTransformer: {plain_s:7.1f} s  {n / plain_s:6.1f} chunks/s")
    print(f"ratio ours/raw throughput, same model: {raw_s / ours_s:.2f}x   (goal >= 0.90)")
    print(f"ratio ours/raw throughput, float32:    {plain_s / ours_s:.2f}x")
    print(f"unchanged re-ingest:       {re_s:7.2f} s  = {100 * re_s / ours_s:.1f}% of the first  (goal <= 2%)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
