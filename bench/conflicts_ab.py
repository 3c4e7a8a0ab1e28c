"""Sources that lie or disagree (issue 15): with and without the new behaviour, measured in the same run.

    QA_HOME=DIR .venv/bin/python bench/conflicts_ab.py eval/conflicts.jsonl [--split dev] [--cache FILE]

"without" is the behaviour before issue 15: QA_CHECK_SOURCES=false (flagged text is ordinary evidence, passages
are rendered as they come, no versions or disagreements are cited) and near-copies grouped by MinHash alone (a
changed copy folds into the earliest one, as `qa.duplicates.group` without texts does). "with" is the default.
Both paths answer from the same index (QA_HOME must hold the question set's corpus, ingested) and share one
generation cache keyed by the exact messages (bench/verify_ab.py), so where the prompts agree the drafts are the
same. Prints the metrics table (without, with, delta) and every question whose failure class changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100
from bench.verify_ab import CachedGeneration  # noqa: E402,RUF100

METRICS = ("answer_accuracy", "conflict_accuracy", "planted_claims_verified", "exact_match", "f1",
           "refusal_accuracy", "false_refusal_rate", "citation_precision", "citation_recall", "recall_at_3")


def minhash_only_copies(store: Any) -> dict[str, tuple[str, str]]:
    """copy id -> (canonical id, its source) as grouped before issue 15: every near-copy folds, changed or not."""
    import numpy as np

    from qa.duplicates import group

    got = store.articles.get(include=["metadatas"])
    metas = dict(zip(got["ids"], got["metadatas"] or []))
    sigs = {i: np.frombuffer(bytes.fromhex(str(m["minhash"])), dtype=np.uint64) for i, m in metas.items()
            if m.get("minhash")}
    copies = group(sigs, {i: str(m.get("date", "")) for i, m in metas.items()})
    return {c: (k, str(metas[k].get("source", ""))) for c, k in copies.items()}


def can_differ(q: Any, old: Any, new: Any) -> bool:
    """Whether the two paths can answer `q` differently: they see different prompts, or something of issue 15
    applies to the passages shown (a flag, a version, two sentences of different articles that disagree)."""
    from itertools import combinations

    from qa.conflicts import disagreement
    from qa.duplicates import versions_of
    from qa.evaluation import filters_for

    filters = filters_for(q, True)
    p_old = old.retrieve(q.question, None, filters)
    p_new = new.retrieve(q.question, None, filters)
    new.annotate(p_new)
    e_old, e_new = old.evidence(p_old), new.evidence(p_new)
    if [m.content for m in old.messages(q.question, p_old, e_old)] != \
            [m.content for m in new.messages(q.question, p_new, e_new)]:
        return True
    if any(p.flags for p in p_new) or versions_of(new.retriever.store, [p.article_id for p in p_new]):
        return True
    sentences = [(p.article_id, " ".join(p.text[s:e].split())) for p in p_new for s, e in e_new.spans[p.n]]
    return any(a != b and (disagreement(x, y) or disagreement(y, x)) for (a, x), (b, y) in combinations(sentences, 2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--split", default=None, help="only questions with this split (dev or heldout)")
    ap.add_argument("--cache", type=Path, default=None, help="keep generations in this JSON file")
    ap.add_argument("--out", type=Path, default=None, help="append each question's pair of results to this JSONL")
    ap.add_argument("--only-differing", action="store_true",
                    help="generate only for questions whose answers can differ: the same prompt, no flag, no version "
                         "and no disagreeing pair of sentences among the shown passages means the same answer")
    args = ap.parse_args()
    header("sources that lie or disagree: without / with (same generations where the prompts agree)")

    from qa.chain import Assistant, make_assistant
    from qa.config import Settings
    from qa.evaluation import evaluate_one, load_questions, summarize
    from qa.retrieval import Retriever

    s = Settings()
    qs = [q for q in load_questions(args.questions).questions if args.split in (None, q.extra.get("split"))]
    new = make_assistant(s)
    cached = CachedGeneration(new.generate, args.cache)
    new.generate = cached  # type: ignore[assignment]
    old_retriever = Retriever(new.retriever.store, s.model_copy(update={"check_sources": False}))
    old_copies = minhash_only_copies(new.retriever.store)
    old_retriever.duplicates = lambda: old_copies  # type: ignore[method-assign]
    old = Assistant(s.model_copy(update={"check_sources": False}), old_retriever, new.llm, new.embeddings)
    old.generate = cached  # type: ignore[assignment]
    meta = {"k": s.k, "depth": max(10, s.k), "retrieval_only": False}
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    t0 = time.perf_counter()
    same: list[str] = []
    for i, q in enumerate(qs, 1):
        if args.only_differing and not can_differ(q, old, new):
            same.append(q.id)
            continue
        for name, assistant in (("without", old), ("with", new)):
            runs[name].append(evaluate_one(q, assistant, s.k, max(10, s.k), False))
        if args.out:  # a run stopped early can still be summarised from here
            with args.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"without": runs["without"][-1], "with": runs["with"][-1]}) + "\n")
        print(f"\r{i}/{len(qs)} questions, {time.perf_counter() - t0:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    sums = {name: summarize(rows, meta) for name, rows in runs.items()}
    print(f"\n{args.questions} ({args.split or 'all'}): {len(qs)} questions ({sums['with']['n_conflict']} conflict); "
          f"{cached.misses} generations made, the rest from the cache; {len(old_copies)} copies folded without, "
          f"{len(new.retriever.duplicates())} with\n")
    if args.only_differing:
        print(f"{len(same)} of {len(qs)} questions answer the same in both paths (same prompt; no flag, version or "
              f"disagreeing pair among the shown passages): not generated. The table covers the other "
              f"{len(qs) - len(same)}.\n")
    if not runs["with"]:
        return
    print("| metric | without | with | delta |\n|---|---|---|---|")
    for m in METRICS:
        a, b = sums["without"].get(m), sums["with"].get(m)
        delta = f"{b - a:+.3f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else ""
        print(f"| {m} | {'' if a is None else f'{a:.3f}'} | {'' if b is None else f'{b:.3f}'} | {delta} |")
    for name in runs:
        fc = {c: n for c, n in sums[name]["failure_classes"].items() if n}
        print(f"{name} failure classes: {fc}")
    print("\nper question (without -> with): failure class, conflict answered, planted claims verified")
    for a, b in zip(runs["without"], runs["with"]):
        ma, mb = a["metrics"], b["metrics"]
        extra = ""
        if "conflict_correct" in mb:
            extra += f" conflict {ma.get('conflict_correct')}->{mb.get('conflict_correct')}"
        if "planted_verified" in mb:
            extra += f" planted {ma.get('planted_verified')}->{mb.get('planted_verified')}"
        if a["failure_class"] != b["failure_class"] or extra:
            print(f"  {a['id']}: {a['failure_class']} -> {b['failure_class']}{extra}  | {a['question'][:60]}")


if __name__ == "__main__":
    main()
