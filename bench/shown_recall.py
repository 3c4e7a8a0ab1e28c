"""Recall of the passages the generator is shown (not of the ranked list): is a gold article among the first k
passages, for several k, as ranked now and re-ordered by the question's focus (qa.answer_type: passages holding a
span of the asked kind in a sentence that shares the question's words first). Retrieval only, no generator.

    QA_HOME=DIR .venv/bin/python bench/shown_recall.py eval/statedept.jsonl [--split dev] [--ks 3,5,8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--split", default=None)
    ap.add_argument("--ks", default="3,4,5,6,8")
    ap.add_argument("--depth", type=int, default=10)
    args = ap.parse_args()
    header("shown-passage recall")

    from qa.answer_type import focused_order
    from qa.config import Settings
    from qa.embedding import make_embeddings, token_counter
    from qa.evaluation import filters_for, load_questions
    from qa.retrieval import Retriever
    from qa.store import open_store

    s = Settings()
    store = open_store(s, make_embeddings(s))
    retriever = Retriever(store)
    ks = [int(x) for x in args.ks.split(",")]
    qs = [q for q in load_questions(args.questions).questions if q.answerable and q.sources
          and args.split in (None, q.extra.get("split"))]
    hits = {(how, k): 0 for how in ("ranked", "focused") for k in ks}
    tokens = {k: 0 for k in ks}
    count = token_counter()
    for q in qs:
        gold = set(q.sources)
        passages = retriever.search(q.question, args.depth, filters_for(q, True))
        order = focused_order(q.question, passages)
        for k in ks:
            hits[("ranked", k)] += bool(gold & {p.article_id for p in passages[:k]})
            hits[("focused", k)] += bool(gold & {p.article_id for p in order[:k]})
            tokens[k] += sum(count([p.text for p in passages[:k]]))
    print(f"\n{args.questions} ({args.split or 'all'}): {len(qs)} answerable questions, depth {args.depth}\n")
    print("| k | shown recall, ranked | shown recall, focus order | mean passage word-pieces |\n|---|---|---|---|")
    for k in ks:
        print(f"| {k} | {hits[('ranked', k)] / len(qs):.3f} | {hits[('focused', k)] / len(qs):.3f} | "
              f"{tokens[k] / len(qs):.0f} |")


if __name__ == "__main__":
    main()
