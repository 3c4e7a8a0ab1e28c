"""What the generator is shown, not only how the list is ranked: for each answerable question, is a gold article
among the k passages shown, and is a gold answer in the text shown (each passage cut to `passage_tokens`)? Two arms
in the same run: *ranked* (the first k as ranked, each passage cut by relatedness alone: `shown_pool=0`) and *focused* (what `qa ask` shows: chosen from the best `shown_pool` by the question's focus, the
sentence holding a span of the asked kind kept first). Retrieval and MiniLM only, no generator. Yes/no questions
are left out of "answer shown" (their gold "Yes" is not in any passage).

    QA_HOME=DIR .venv/bin/python bench/shown_recall.py eval/quiz.jsonl [--split dev] [--k 3]
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
    ap.add_argument("--k", type=int, default=None, help="passages shown (default: the k setting)")
    args = ap.parse_args()
    header("shown-passage recall")

    from qa.chain import Assistant
    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.evaluation import contains_answer, filters_for, load_questions
    from qa.llms import make_llm
    from qa.retrieval import Retriever
    from qa.store import open_store

    s = Settings()
    k = args.k or s.k
    store = open_store(s, make_embeddings(s))
    retriever = Retriever(store, s)
    llm = make_llm(s.model_copy(update={"llm": "fake"}))  # never called: only the prompt is built
    arms = {"ranked": Assistant(s.model_copy(update={"shown_pool": 0}), retriever, llm),
            "focused": Assistant(s, retriever, llm)}
    qs = [q for q in load_questions(args.questions).questions if q.answerable and q.sources
          and args.split in (None, q.extra.get("split"))]
    article = dict.fromkeys(arms, 0)
    answer = dict.fromkeys(arms, 0)
    with_answers = [q for q in qs if q.answers and q.answers[0] not in ("Yes", "No")]
    for q in qs:
        for name, assistant in arms.items():
            shown = assistant.retrieve(q.question, k, filters_for(q, True))
            article[name] += bool(set(q.sources) & {p.article_id for p in shown})
            if q in with_answers:
                prompt = assistant.messages(q.question, shown)[-1].content
                answer[name] += contains_answer(str(prompt), q.answers)
    print(f"\n{args.questions} ({args.split or 'all'}): {len(qs)} answerable questions "
          f"({len(with_answers)} with a gold answer other than yes/no), k={k}, passage_tokens={s.passage_tokens}\n")
    print("| arm | gold article shown | gold answer in the text shown |\n|---|---|---|")
    for name in arms:
        print(f"| {name} | {article[name] / len(qs):.3f} | {answer[name] / max(1, len(with_answers)):.3f} |")


if __name__ == "__main__":
    main()
