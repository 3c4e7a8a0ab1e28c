"""Generations `qa watch` saves: saved questions checked after every weekly ingest of the State Department releases.

    QA_HOME=/tmp/watch-home .venv/bin/python bench/watch_savings.py [--from 2022-02-07 --to 2022-08-08]

Retrieval only (no generator): the index "as ingested up to day D" is the ingested index with `until=D` (every
release is dated), so no re-ingest is needed. After each weekly ingest, a saved question is re-asked by the rule of
qa/watch.py (`affected`: a passage found now comes from an article of that week, or the passages differ from those
of its last answer); the baseline re-asks every saved question after every ingest that added articles. Approximation:
BM25 term statistics are those of the whole index, not of the index as it was that week (an incremental index's
statistics drift a little with each ingest, which can reorder passages and so re-ask a few more questions).
The questions were written for this benchmark (not from eval/): recurring series and one-off topics.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

QUESTIONS = [
    "What is the latest total of U.S. security assistance to Ukraine since Russia's invasion?",
    "How much is Rewards for Justice offering for information on foreign interference in U.S. elections?",
    "How much is the reward for information on the Kinahan organized crime group?",
    "Which Russian military intelligence officers are sought by Rewards for Justice for cyber attacks?",
    "How much humanitarian assistance has the United States given to the people of Ukraine?",
    "What sanctions did the State Department impose on Russian oligarchs and their yachts?",
    "What did the United States say about the truce in Yemen?",
    "Who is the U.S. Special Envoy for the Horn of Africa?",
    "What did Secretary Blinken discuss with Indian External Affairs Minister Jaishankar?",
    "What did the United States announce about the Summit of the Americas in Los Angeles?",
    "What are the travel advisory levels for Ecuador?",
    "Which countries celebrated their national day with a statement from the Secretary?",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="start", default="2022-02-07")
    ap.add_argument("--to", dest="end", default="2022-08-08")
    ap.add_argument("-k", type=int, default=None)
    args = ap.parse_args()

    from qa.chain import make_assistant
    from qa.config import Settings
    from qa.retrieval import Filters
    from qa.watch import affected, passage_key

    s = Settings()
    assistant = make_assistant(s)
    articles = {r["id"]: r["date"][:10] for r in assistant.retriever.store.list_articles()}
    day = date.fromisoformat(args.start)
    end = date.fromisoformat(args.end)
    last: dict[str, dict] = {}
    rows = []
    while day <= end:
        until = day.isoformat()
        week = {a for a, d in articles.items() if d and (day - timedelta(days=7)).isoformat() < d <= until}
        asked = 0
        for q in QUESTIONS:
            passages = assistant.retrieve(q, args.k, Filters(until=until))
            entry = {"passages": [{"n": p.n, "article_id": p.article_id, "chunk_id": p.chunk_id,
                                   "key": passage_key(p), "title": p.title} for p in passages]}
            if q in last and week:
                if affected(last[q], passages, {"added": sorted(week), "changed": [], "removed": []}):
                    asked += 1
                    last[q] = entry
            else:
                last[q] = entry  # the first answer (or a week without news: nothing to check)
        if week and day > date.fromisoformat(args.start):
            rows.append((until, len(week), asked))
        day += timedelta(days=7)
    total_checks = sum(len(QUESTIONS) for _u, n, _a in rows if n)
    total_asked = sum(a for _u, _n, a in rows)
    print(f"| week ending | releases added | re-asked (of {len(QUESTIONS)}) |")
    print("|---|---|---|")
    for until, n, a in rows:
        print(f"| {until} | {n} | {a} |")
    print(f"\n{len(rows)} weekly ingests × {len(QUESTIONS)} saved questions: baseline (re-ask all) {total_checks} "
          f"generations, qa watch {total_asked}: {total_checks - total_asked} saved "
          f"({(total_checks - total_asked) / max(1, total_checks):.0%})")


if __name__ == "__main__":
    main()
