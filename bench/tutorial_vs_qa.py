"""The plain LangChain-tutorial pipeline vs ours on the same articles: ingest time and recall@5.

    .venv/bin/python bench/tutorial_vs_qa.py [--distractors 300] [--questions eval/statedept.jsonl]

Articles: the gold articles of every answerable question plus `--distractors` other State Department releases
(every k-th file; 0 = the whole corpus). Tutorial: files read as they are (TextLoader), RecursiveCharacterTextSplitter
(chunk_size=1000, chunk_overlap=200), `Chroma.from_documents`, `similarity_search(q, k=5)`, with MiniLM through
`HuggingFaceEmbeddings(model_name=...)` as the tutorial writes it (float32) and, to separate the pipeline from the
number type, once more with our bfloat16 MiniLM. Ours: `qa.ingest.ingest` and the assistant's retriever with k=5
passages. recall@5 = share of questions with a gold article among the 5 results. Model loading is outside all
timings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100

ROOT = Path(__file__).resolve().parent.parent
STATE_DEPT = ROOT.parent / "shared/corpus/state-dept-2021-2022/articles"


def corpus_for(questions: list[dict], distractors: int, dest: Path) -> dict[str, str]:
    """Copy gold + distractor files into `dest`; returns file path -> article id."""
    from qa.loading import load_articles
    from qa.types import Article

    ids = {str(a.path): a.id for a in load_articles([STATE_DEPT]) if isinstance(a, Article)}
    gold = {g for q in questions for g in q["sources"]}
    files = sorted(ids)
    others = [f for f in files if ids[f] not in gold]
    if distractors and distractors < len(others):
        step = len(others) / distractors
        others = [others[int(i * step)] for i in range(distractors)]
    dest.mkdir(parents=True)
    chosen = [f for f in files if ids[f] in gold] + others
    out = {}
    for f in chosen:
        shutil.copy2(f, dest / Path(f).name)
        out[str(dest / Path(f).name)] = ids[f]
    return out


def recall(results: list[set[str]], questions: list[dict]) -> float:
    return sum(bool(r & set(q["sources"])) for r, q in zip(results, questions)) / len(questions)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path, default=ROOT / "eval/statedept.jsonl")
    ap.add_argument("--distractors", type=int, default=300)
    args = ap.parse_args()
    header("LangChain tutorial pipeline vs qa")
    questions = [q for q in map(json.loads, args.questions.read_text().splitlines()) if q.get("answerable")]

    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from qa.chain import make_assistant
    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-tutorial-"))
    path_id = corpus_for(questions, args.distractors, tmp / "articles")
    s = Settings(home=tmp / "home", embeddings="minilm", llm="fake")
    emb = make_embeddings(s)  # ours: MiniLM in bfloat16 where the CPU has it (QA_EMBED_DTYPE)
    emb.embed_documents(["warm up"] * 8)
    from langchain_huggingface import HuggingFaceEmbeddings

    from qa.embedding import minilm_path

    plain = HuggingFaceEmbeddings(model_name=str(minilm_path()))  # as the tutorial writes it: float32
    plain.embed_documents(["warm up"] * 8)

    def tutorial_run(embeddings: Any, name: str) -> tuple[int, float, list[set[str]]]:
        """The tutorial pipeline (langchain docs, "Build a RAG app"): load, split, Chroma.from_documents."""
        t0 = time.perf_counter()
        docs = [Document(page_content=Path(p).read_text(encoding="utf-8"), metadata={"source": p}) for p in path_id]
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        db = Chroma.from_documents(splits, embeddings, persist_directory=str(tmp / name))
        took = time.perf_counter() - t0
        hits = [{path_id[d.metadata["source"]] for d in db.similarity_search(q["question"], k=5)} for q in questions]
        return len(splits), took, hits

    n_tut, tut_s, tut_hits = tutorial_run(plain, "tutorial")
    _n, tut16_s, tut16_hits = tutorial_run(emb, "tutorial-bf16")

    t0 = time.perf_counter()
    report = ingest([tmp / "articles"], open_store(s, emb), s)
    ours_s = time.perf_counter() - t0
    assistant = make_assistant(s)
    our_hits = [{p.article_id for p in assistant.retrieve(q["question"], 5)} for q in questions]

    print(f"articles: {len(path_id)} ({len({g for q in questions for g in q['sources']})} gold), "
          f"questions: {len(questions)} answerable")
    print(f"tutorial: {n_tut:6d} chunks, ingest {tut_s:7.1f} s, recall@5 {recall(tut_hits, questions):.3f}")
    print(f"tutorial with our bfloat16 MiniLM: ingest {tut16_s:7.1f} s, recall@5 "
          f"{recall(tut16_hits, questions):.3f}")
    print(f"qa:       {report.chunks:6d} chunks, ingest {ours_s:7.1f} s, recall@5 {recall(our_hits, questions):.3f}")
    print(f"ingest speed-up qa vs tutorial: {tut_s / ours_s:.2f}x   (goal >= 2x with equal or better recall@5)")
    print(f"ingest speed-up qa vs tutorial with our bfloat16 MiniLM: {tut16_s / ours_s:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
