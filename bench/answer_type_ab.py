"""Issue 21 on/off in the same run: every question goes through the checked pipeline twice, with
QA_ANSWER_TYPE_CHECK=false (baseline) and true (the asked slot checked, span short answers, yes/no prompt, date
opener only for time questions), sharing one generation cache, so the drafts are identical wherever the prompt is
(it differs only for yes/no questions).

    QA_HOME=DIR .venv/bin/python bench/answer_type_ab.py eval/statedept.jsonl [--split dev] [--cache FILE] [--k N]

`--k N` shows N passages in both arms (default: the configured k); `--baseline-k N` gives the baseline arm another
k, to measure showing more passages. Prints the metrics table, shown-passage recall (gold article among the
passages the generator saw), answer accuracy per asked kind (qa.answer_type.focus_of) and every question whose
failure class changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100
from bench.verify_ab import CachedGeneration  # noqa: E402,RUF100

METRICS = ("answer_accuracy", "exact_match", "f1", "refusal_accuracy", "false_refusal_rate", "shown_recall",
           "citation_recall")


class OnlyCached(CachedGeneration):
    """A cache that never generates: a prompt it does not hold stops the question (it is skipped in both arms)."""

    def invoke(self, messages: list[Any], **kwargs: Any) -> str:
        key = self._key(messages, kwargs)
        if key not in self.cache:
            raise Miss(key)
        return self.cache[key]


class Miss(Exception):
    pass


def shown_recall(rows: list[dict[str, Any]]) -> float | None:
    xs = [float(bool(set(r["sources"]) & set(r["shown"]))) for r in rows if r["answerable"] and r["sources"]]
    return round(sum(xs) / len(xs), 4) if xs else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--split", default=None, help="only questions with this split (dev or heldout)")
    ap.add_argument("--cache", type=Path, default=None, help="keep generations in this JSON file")
    ap.add_argument("--k", type=int, default=None, help="passages shown (both arms unless --baseline-k)")
    ap.add_argument("--baseline-k", type=int, default=None, help="passages shown in the baseline arm")
    ap.add_argument("--same-check", action="store_true", help="both arms with the answer-type check (k A/B only)")
    ap.add_argument("--cached-only", action="store_true",
                    help="skip (in both arms) every question that would need a generation not in the cache")
    ap.add_argument("--out", type=Path, default=None, help="write results-baseline/checked.jsonl here")
    args = ap.parse_args()
    header("answer-type check on/off (same generations)")

    from qa.answer_type import focus_of
    from qa.chain import Assistant, make_assistant
    from qa.config import Settings
    from qa.evaluation import evaluate_one, load_questions, summarize

    s = Settings()
    k = args.k or s.k
    base_k = args.baseline_k or k
    qs = [q for q in load_questions(args.questions).questions if args.split in (None, q.extra.get("split"))]
    base = make_assistant(s.model_copy(update={"answer_type_check": args.same_check}))
    cached = (OnlyCached if args.cached_only else CachedGeneration)(base.generate, args.cache)
    base.generate = cached  # type: ignore[assignment]
    checked = Assistant(s.model_copy(update={"answer_type_check": True}), base.retriever, base.llm, base.embeddings)
    checked.generate = cached  # type: ignore[assignment]
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "checked": []}
    t0 = time.perf_counter()
    skipped = []
    for i, q in enumerate(qs, 1):
        try:
            pair = [evaluate_one(q, assistant, kk, max(10, kk), False)
                    for assistant, kk in ((base, base_k), (checked, k))]
        except Miss:  # OnlyCached: a generation the cache does not hold
            skipped.append(q.id)
            continue
        runs["baseline"].append(pair[0])
        runs["checked"].append(pair[1])
        print(f"\r{i}/{len(qs)} questions, {time.perf_counter() - t0:.0f} s, {cached.misses} generated",
              end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    sums = {name: summarize(rows, {"k": k, "depth": max(10, k), "retrieval_only": False})
            for name, rows in runs.items()}
    for name, rows in runs.items():
        sums[name]["shown_recall"] = shown_recall(rows)
    print(f"\n{args.questions} ({args.split or 'all'}): {len(qs)} questions, "
          f"{sums['baseline']['n_answerable']} answerable, {sums['baseline']['n_unanswerable']} unanswerable; "
          f"k {base_k} -> {k}; {cached.misses} generations made, the rest from the cache; "
          f"{len(skipped)} skipped (not in the cache): {' '.join(skipped)}\n")
    label = "baseline (QA_ANSWER_TYPE_CHECK=false)" if not args.same_check else f"baseline (k={base_k})"
    print(f"| metric | {label} | checked | delta |\n|---|---|---|---|")
    for m in METRICS:
        a, b = sums["baseline"][m], sums["checked"][m]
        delta = f"{b - a:+.3f}" if a is not None and b is not None else ""
        print(f"| {m} | {'' if a is None else f'{a:.3f}'} | {'' if b is None else f'{b:.3f}'} | {delta} |")
    for name in runs:
        fc = {c: n for c, n in sums[name]["failure_classes"].items() if n}
        print(f"{name} failure classes: {fc}")
    gold_kind = {q.id: q.extra.get("kind") for q in qs}  # quiz.jsonl names the asked kind; else read it
    print("\nanswer accuracy per asked kind (the set's `kind`, else qa.answer_type.focus_of; answerable questions; "
          "baseline -> checked):")
    per: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for a, b in zip(runs["baseline"], runs["checked"]):
        if a["answerable"]:
            per[str(gold_kind.get(a["id"]) or focus_of(a["question"]).kind)].append((a["metrics"].get("answer_correct") or 0.0,
                                                      b["metrics"].get("answer_correct") or 0.0))
    for kind, xs in sorted(per.items()):
        print(f"  {kind}: n={len(xs)} {sum(x for x, _ in xs) / len(xs):.2f} -> {sum(y for _, y in xs) / len(xs):.2f}")
    print("\nchanged (baseline -> checked):")
    for a, b in zip(runs["baseline"], runs["checked"]):
        sa, sb = a["answer"]["short_answer"] if a["answer"] else "", b["answer"]["short_answer"] if b["answer"] else ""
        if a["failure_class"] != b["failure_class"] or sa != sb:
            print(f"  {a['id']}: {a['failure_class']} -> {b['failure_class']}  short {sa[:40]!r} -> {sb[:40]!r}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, rows in runs.items():
            (args.out / f"results-{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
