"""Verification and abstention on/off, measured in the same run: every question is generated once and the same
model text goes through the unverified baseline (QA_VERIFY=false: no evidence gate, markers trusted as written)
and through the checked path (gate, claim verification, re-citing, removal).

    QA_HOME=DIR .venv/bin/python bench/verify_ab.py eval/statedept.jsonl [--split heldout] [--cache FILE]

QA_HOME must hold the ingested corpus of the question set (`qa eval … --corpus` or `qa ingest` first). The
generator is the configured one (bundled GGUF by default). Generations are shared through a cache keyed by the
exact messages, so the two paths see identical drafts; `--cache FILE` keeps that cache on disk between runs,
which makes re-measuring a change to verification take seconds instead of a full generation pass.
Prints the metrics table (baseline, verified, delta) and every question whose failure class changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100

METRICS = ("answer_accuracy", "exact_match", "f1", "refusal_accuracy", "false_refusal_rate", "citation_precision",
           "citation_recall")


class NotCached(Exception):
    """--cached-only: this question's draft is not in the cache; it is skipped on both paths."""


class CachedGeneration:
    """Stands in for `Assistant.generate` (messages -> text), answering repeated prompts from a cache."""

    def __init__(self, inner: Any, path: Path | None, cached_only: bool = False) -> None:
        self.inner, self.path, self.cached_only = inner, path, cached_only
        self.cache: dict[str, str] = json.loads(path.read_text()) if path and path.is_file() else {}
        self.misses = 0

    def _key(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        raw = json.dumps([[m.type, m.content] for m in messages] + [sorted(kwargs.items())])
        return hashlib.sha256(raw.encode()).hexdigest()

    def _save(self) -> None:
        if self.path:
            self.path.write_text(json.dumps(self.cache))

    def invoke(self, messages: list[Any], **kwargs: Any) -> str:
        key = self._key(messages, kwargs)
        if key not in self.cache and self.cached_only:
            if kwargs.get("max_tokens") == 24:  # the short-answer call after a changed answer: no short answer
                return ""
            raise NotCached()
        if key not in self.cache:
            self.misses += 1
            self.cache[key] = self.inner.invoke(messages, **kwargs)
            self._save()
        return self.cache[key]

    def stream(self, messages: list[Any], **kwargs: Any) -> Iterator[str]:
        yield self.invoke(messages, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--split", default=None, help="only questions with this split (dev or heldout)")
    ap.add_argument("--cache", type=Path, default=None, help="keep generations in this JSON file")
    ap.add_argument("--out", type=Path, default=None, help="write results-baseline/verified.jsonl here")
    ap.add_argument("--cached-only", action="store_true", help="skip questions whose draft is not in --cache "
                    "(never generate: a partial cache measures a change to verification on the questions it holds)")
    args = ap.parse_args()
    header("verification on/off (same generations)")

    from qa.chain import Assistant, make_assistant
    from qa.config import Settings
    from qa.evaluation import evaluate_one, load_questions, summarize

    s = Settings()
    qs = [q for q in load_questions(args.questions).questions if args.split in (None, q.extra.get("split"))]
    base = make_assistant(s.model_copy(update={"verify": False}))
    cached = CachedGeneration(base.generate, args.cache, args.cached_only)
    base.generate = cached  # type: ignore[assignment]
    checked = Assistant(s.model_copy(update={"verify": True}), base.retriever, base.llm, base.embeddings)
    checked.generate = cached  # type: ignore[assignment]
    meta = {"k": s.k, "depth": max(10, s.k), "retrieval_only": False}
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "verified": []}
    t0 = time.perf_counter()
    skipped = []
    for i, q in enumerate(qs, 1):
        try:
            rows = {name: evaluate_one(q, assistant, s.k, max(10, s.k), False)
                    for name, assistant in (("baseline", base), ("verified", checked))}
        except NotCached:
            skipped.append(q.id)
            continue
        for name, row in rows.items():
            runs[name].append(row)
        print(f"\r{i}/{len(qs)} questions, {time.perf_counter() - t0:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if skipped:
        print(f"--cached-only: {len(skipped)} questions without a cached draft skipped: {' '.join(skipped)}")
        qs = [q for q in qs if q.id not in skipped]
    sums = {name: summarize(rows, meta) for name, rows in runs.items()}
    print(f"\n{args.questions} ({args.split or 'all'}): {len(qs)} questions, "
          f"{sums['baseline']['n_answerable']} answerable, {sums['baseline']['n_unanswerable']} unanswerable; "
          f"{cached.misses} generations made, the rest from the cache\n")
    print("| metric | baseline (QA_VERIFY=false) | verified | delta |\n|---|---|---|---|")
    for m in METRICS:
        a, b = sums["baseline"][m], sums["verified"][m]
        delta = f"{b - a:+.3f}" if a is not None and b is not None else ""
        print(f"| {m} | {'' if a is None else f'{a:.3f}'} | {'' if b is None else f'{b:.3f}'} | {delta} |")
    for name in runs:
        fc = {c: n for c, n in sums[name]["failure_classes"].items() if n}
        print(f"{name} failure classes: {fc}")
    print("\nchanged failure class (baseline -> verified):")
    for a, b in zip(runs["baseline"], runs["verified"]):
        if a["failure_class"] != b["failure_class"]:
            print(f"  {a['id']}: {a['failure_class']} -> {b['failure_class']}  | {a['question'][:70]}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, rows in runs.items():
            (args.out / f"results-{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
