"""run_eval(questions, assistant, out) -> summary: question sets, per-question metrics, failure classes, resume."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
import string
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError, UsageError
from qa.terminal import dumps, redact
from qa.types import question_problem

if TYPE_CHECKING:
    from qa.chain import Assistant
    from qa.config import Settings
    from qa.retrieval import Filters

FAILURE_CLASSES = ("ok", "not_retrieved", "retrieved_low", "not_cited", "wrong_answer", "false_refusal",
                   "answered_unanswerable")
RECALL_KS = (1, 3, 5, 10)
# Summary keys that measure time: everything else in summary.json is a function of the inputs alone.
TIMING_KEYS = ("latency_p50_s", "latency_p95_s", "latency")
STAGES = ("rank_s", "retrieve_s", "first_token_s", "generate_s", "verify_s", "total_s")


# Question sets ------------------------------------------------------------------------------------------------
@dataclass
class Question:
    """One evaluation question; fields beyond the five standard ones are kept in `extra`."""

    id: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    extra: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    @property
    def as_of(self) -> str:
        return str(self.extra.get("as_of") or "")


@dataclass
class QuestionSet:
    questions: list[Question]
    problems: list[str]  # malformed lines, skipped: "file:line: what is wrong"
    warnings: list[str]  # duplicate ids (later ones skipped) and the like
    sha256: str = ""


STANDARD = ("id", "question", "answers", "sources", "answerable")

Metrics = dict[str, float | None]  # metric name -> value; None where the metric does not apply to the question


@dataclass
class Result:
    """One evaluated question: a line of results.jsonl (`to_dict`/`from_dict` keep its JSON keys)."""

    id: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    extra: dict[str, Any] = field(default_factory=dict)
    retrieved: list[str] = field(default_factory=list)  # article ids, ranked, to the run's depth
    shown: list[str] = field(default_factory=list)  # article ids of the passages shown to the generator
    answer: dict[str, Any] | None = None  # `qa ask --json`'s object; None in retrieval-only runs
    metrics: Metrics = field(default_factory=dict)
    failure_class: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def split(self) -> str:
        return str(self.extra.get("split") or "")

    def as_question(self) -> Question:
        return Question(self.id, self.question, list(self.answers), list(self.sources), self.answerable,
                        dict(self.extra))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def result_of(row: Result | dict[str, Any]) -> Result:
    """A row as a Result (scripts may still hold the dicts of a results.jsonl)."""
    return row if isinstance(row, Result) else Result.from_dict(row)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    raise ValueError(f"`answerable` must be true or false, not {value!r}")


def _strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"`{name}` must be a list of strings")
    return [x.strip() for x in value if x.strip()]


def parse_question(obj: Any, line: int = 0) -> Question:
    """A question from one parsed record; ValueError says what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")  # noqa: TRY004 - the caller reports every ValueError
    missing = [k for k in ("id", "question", "answerable") if k not in obj]
    if missing:
        raise ValueError("missing " + ", ".join(f"`{k}`" for k in missing))
    qid, text = obj["id"], obj["question"]
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError("`id` must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("`question` must be a non-empty string")
    if problem := question_problem(text):
        raise ValueError(problem)
    q = Question(id=qid.strip(), question=text.strip(), answers=_strings(obj.get("answers"), "answers"),
                 sources=_strings(obj.get("sources"), "sources"), answerable=_bool(obj["answerable"]),
                 extra={k: v for k, v in obj.items() if k not in STANDARD}, line=line)
    if q.answerable and not q.answers and not q.sources:
        raise ValueError("an answerable question needs `answers` or `sources`")
    if q.extra.get("conflict"):  # the sources disagree: each side with its own gold answers and sources
        sides = q.extra.get("sides")
        if not isinstance(sides, list) or len(sides) < 2 or not all(
                isinstance(x, dict) and _strings(x.get("answers"), "sides.answers")
                and _strings(x.get("sources"), "sides.sources") for x in sides):
            raise ValueError("a `conflict` question needs `sides`: two or more {\"answers\": [...], \"sources\": "
                             "[...]}")
    if q.extra.get("planted") is not None:
        _strings(q.extra.get("planted"), "planted")
    if q.as_of:
        from qa.config import parse_day

        try:
            date.fromisoformat(q.as_of)
            parse_day(q.as_of, "`as_of`")
        except ValueError:
            raise ValueError(f"`as_of` must be a date YYYY-MM-DD, not {q.as_of!r}") from None
        except UsageError as e:
            raise ValueError(f"{e.message}: {e.hint}") from None
    return q


# RAGAS rows (v0.1: question, ground_truth(s), contexts, answer; v0.2: user_input, reference, retrieved_contexts,
# response) become qa questions: the ground truths are the gold answers, the id is the line's when it has none.
RAGAS_KEYS = frozenset({"user_input", "ground_truth", "ground_truths", "reference", "contexts",
                        "retrieved_contexts", "reference_contexts", "response"})


def from_ragas(obj: dict[str, Any], line: int) -> dict[str, Any]:
    """A qa record from a RAGAS-style row; ValueError says what is missing."""
    golds: Any = obj.get("ground_truths")
    if golds is None:
        one = obj.get("ground_truth", obj.get("reference"))
        golds = [one] if isinstance(one, str) else [] if one is None else one
    if not isinstance(golds, list) or not all(isinstance(g, str) for g in golds):
        raise ValueError("a RAGAS row's `ground_truths` must be a list of strings (or `ground_truth`/`reference` "
                         "one string)")
    golds = [g for g in golds if g.strip()]
    answerable = obj.get("answerable", True)  # no ground truth is not "unanswerable" unless it says so
    if not golds and _bool(answerable):
        raise ValueError("a RAGAS row needs `ground_truth`, `ground_truths` or `reference` to score against "
                         "(or `\"answerable\": false`)")
    rec = {k: v for k, v in obj.items() if k not in RAGAS_KEYS and k not in ("question", "answer")}
    rec.update({"id": obj.get("id") or f"line-{line}", "question": obj.get("question", obj.get("user_input")),
                "answers": golds, "sources": obj.get("sources") or [], "answerable": answerable})
    return rec


def _squad(path: Path, data: Any) -> Iterable[tuple[int, Any, str]]:
    """SQuAD v1/v2 JSON ({"data": [{"paragraphs": [{"qas": [...]}]}]}): one record per question, numbered."""
    n = 0
    for article in data.get("data") or []:
        for para in (article.get("paragraphs") or []) if isinstance(article, dict) else []:
            for qa in (para.get("qas") or []) if isinstance(para, dict) else []:
                n += 1
                if not isinstance(qa, dict):
                    yield n, None, "a SQuAD question must be an object"
                    continue
                answers = [a.get("text", "") for a in qa.get("answers") or [] if isinstance(a, dict)]
                impossible = bool(qa.get("is_impossible"))
                yield n, {"id": str(qa.get("id") or f"q-{n}"), "question": qa.get("question"),
                          "answers": list(dict.fromkeys(a for a in answers if a.strip())), "sources": [],
                          "answerable": not impossible}, ""


def _records(path: Path, text: str) -> Iterable[tuple[int, Any, str]]:
    """(line number, record or None, error) for each non-empty record of a JSONL or CSV file, a SQuAD JSON file
    (numbered by question) or a JSON list of rows."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            yield e.lineno, None, f"not valid JSON ({e.msg} at column {e.colno})"
            return
        if isinstance(data, dict) and "data" in data:
            yield from _squad(path, data)
        elif isinstance(data, list):
            for n, item in enumerate(data, start=1):
                yield n, item, ""
        else:
            yield 1, None, "a .json question set is SQuAD's ({\"data\": [...]}) or a list of rows"
        return
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines(keepends=True))
        for row in reader:
            if None in row:
                yield reader.line_num, None, "more cells than columns"
                continue
            rec: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
            for key in ("answers", "sources"):
                rec[key] = [x for x in (row.get(key) or "").split("|")]
            yield reader.line_num, rec, ""
        return
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield n, json.loads(raw), ""
        except json.JSONDecodeError as e:
            yield n, None, f"not valid JSON ({e.msg} at column {e.colno})"


def load_questions(path: Path, strict: bool = False) -> QuestionSet:
    """Read a JSONL or CSV question set: malformed lines are reported and skipped (`strict`: QAError)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise QAError(f"Cannot read question set {path}: {e.strerror}", "check the path") from None
    questions: list[Question] = []
    problems: list[str] = []
    warnings: list[str] = []
    first_line: dict[str, int] = {}
    for line, rec, error in _records(path, data.decode("utf-8-sig", errors="replace")):
        if not error:
            try:
                q = parse_question(from_ragas_or_self(rec, line), line)
            except ValueError as e:
                error = str(e)
        if error:
            problems.append(f"{path}:{line}: {error}")
            if strict:
                raise QAError(f"Malformed question at {path}:{line}: {error}",
                              "fix the line, or run without --strict to skip it")
            continue
        if q.id in first_line:
            warnings.append(f"{path}:{line}: duplicate id {q.id!r} (first on line {first_line[q.id]}); skipped")
            continue
        first_line[q.id] = line
        questions.append(q)
    if not questions:
        raise NoQuestions(f"No usable questions in {path} ({len(problems)} line(s) rejected, each named above)",
                          "each line needs `id`, `question` and `answerable` (qa's JSONL/CSV), or `question` or "
                          "`user_input` with `ground_truth(s)` or `reference` (RAGAS); see eval/README.md",
                          problems, warnings)
    return QuestionSet(questions, problems, warnings, hashlib.sha256(data).hexdigest())


class NoQuestions(QAError):
    """No line of a question set could be used; `problems` says why for every line."""

    def __init__(self, message: str, hint: str, problems: list[str], warnings: list[str]) -> None:
        super().__init__(message, hint)
        self.problems, self.warnings = problems, warnings


def from_ragas_or_self(rec: Any, line: int) -> Any:
    """A RAGAS-style row as a qa record (ValueError when it cannot be one); any other record unchanged."""
    if isinstance(rec, dict) and RAGAS_KEYS & set(rec):
        return from_ragas(rec, line)
    return rec


def unknown_sources(questions: list[Question], known: set[str]) -> list[str]:
    """Warnings for gold source ids that are not in the index."""
    out = []
    for q in questions:
        missing = [s for s in q.sources if s not in known]
        if missing:
            out.append(f"{q.id}: unknown article id{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return out


# Metrics ------------------------------------------------------------------------------------------------------
# Answer matching: SQuAD's normalization, plus the spellings of one answer that news writes several ways.
_DASHES = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")  # hyphens, dashes, minus
_POSSESSIVE = re.compile(r"(?<=\w)'s\b|(?<=s)'(?!\w)")  # "Assad's" -> "Assad", "states'" -> "states"
_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u202f\u2009 '](?=\d{3}(?!\d))")  # 1,200 / 1 200 / 1'200 -> 1200
# Currency symbols and words -> one code written after the amount ("$120 million" == "120 million dollars").
_CURRENCY = (("usd", r"us\$|\$", r"u\.s\. dollars?|us dollars?|dollars?|usd"),
             ("eur", "\u20ac", r"euros?|eur"),
             ("gbp", "\u00a3", r"pounds? sterling|british pounds?|gbp"),
             ("jpy", "\u00a5", r"japanese yen|yen|jpy"))
_CODE_OF = [(re.compile(rf"(?<![\w.])(?:{words})(?!\w)|(?:{symbols})"), code) for code, symbols, words in _CURRENCY]
_AMOUNT = r"\d+(?:\.\d+)?(?:\s+(?:thousand|million|billion|trillion))?"
_CODE_FIRST = re.compile(rf"\b(usd|eur|gbp|jpy)\s*({_AMOUNT})\b")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")


def _currency(text: str) -> str:
    for pattern, code in _CODE_OF:
        text = pattern.sub(f" {code} ", text)
    text = " ".join(text.split())
    return _CODE_FIRST.sub(r"\2 \1", text)  # "usd 120 million" -> "120 million usd"


def normalize_answer(text: str) -> str:
    """SQuAD normalization (lower case, no punctuation, no articles, single spaces) that also treats as equal:
    possessives ("Assad's" = "Assad"), hyphen and dash variants (all one hyphen, which joins its words as in SQuAD:
    "Iranian–backed" = "Iranian-backed", and "Syria-linked" does not contain "Syria"), thousands
    separators ("1,200" = "1200"), and currency symbols and words ("$5 million" = "5 million dollars" = "USD 5
    million")."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = _POSSESSIVE.sub("", text)
    text = _THOUSANDS.sub("", text)
    text = _DASHES.sub("-", text)  # one hyphen, removed below with the punctuation: "al‑Assad" = "al-Assad" = "alassad"
    text = _currency(text)
    text = _DECIMAL.sub("\u2024", text)  # a decimal point survives: 3.5 is not 35
    text = "".join(ch for ch in text if ch not in PUNCT).replace("\u2024", ".")
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


PUNCT = frozenset(string.punctuation)


def exact_match(prediction: str, golds: list[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds)) if golds else 0.0


def token_f1(prediction: str, golds: list[str]) -> float:
    """SQuAD token F1, the best over the gold answers."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not pred or not ref or common == 0:
            best = max(best, float(pred == ref))
            continue
        p, r = common / len(pred), common / len(ref)
        best = max(best, 2 * p * r / (p + r))
    return best


def contains_answer(text: str, golds: list[str]) -> bool:
    """A normalized gold answer occurs in the normalized text, on word boundaries."""
    hay = f" {normalize_answer(text)} "
    return any(g and f" {g} " in hay for g in (normalize_answer(x) for x in golds))


def recall_at(ranked: list[str], gold: set[str], k: int) -> float:
    return float(bool(gold & set(ranked[:k])))


def reciprocal_rank(ranked: list[str], gold: set[str]) -> float:
    return next((1.0 / i for i, a in enumerate(ranked, start=1) if a in gold), 0.0)


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def classify(q: Question, ranked: list[str], shown: list[str], answer: dict[str, Any] | None) -> str | None:
    """The failure class: the earliest stage that went wrong. None when it cannot be judged (no answer to judge
    for an unanswerable question in retrieval-only mode)."""
    gold = set(q.sources)
    if not q.answerable:
        if answer is None:
            return None
        return "ok" if answer["refused"] else "answered_unanswerable"
    correct = answer is not None and not answer["refused"] and (
        not q.answers or contains_answer(answer["answer"] + " \n " + answer["short_answer"], q.answers))
    cited = {c["article_id"] for c in answer["citations"]} if answer else set()
    if gold and not (gold & (set(ranked) | set(shown))):
        return "not_retrieved"
    if gold and not gold & set(shown):
        return "retrieved_low"
    if answer is None:
        return "ok"
    if answer["refused"]:
        return "false_refusal"
    if not correct:
        return "wrong_answer"
    if gold and not gold & cited:
        return "not_cited"
    return "ok"


def question_metrics(q: Question, ranked: list[str], answer: dict[str, Any] | None,
                     shown: list[str] | None = None) -> Metrics:
    """Per-question metrics (a pure function of the question, the ranking, the passages shown and the answer);
    None where a metric does not apply."""
    gold = set(q.sources)
    m: Metrics = {}
    scored = q.answerable and bool(gold)
    for k in RECALL_KS:
        m[f"recall_at_{k}"] = recall_at(ranked, gold, k) if scored else None
    m["rr"] = round(reciprocal_rank(ranked, gold), 4) if scored else None
    m["shown_recall"] = float(bool(gold & set(shown))) if scored and shown is not None else None
    if answer is None:
        return m
    citations = answer["citations"]
    m["refused"] = bool(answer["refused"])
    if q.answerable:
        m["answer_correct"] = float(not answer["refused"] and (
            contains_answer(answer["answer"] + " \n " + answer["short_answer"], q.answers) if q.answers else True))
        m["exact_match"] = exact_match(answer["short_answer"], q.answers) if q.answers else None
        m["f1"] = round(token_f1(answer["short_answer"], q.answers), 4) if q.answers else None
        m["citation_recall"] = float(bool(gold & {c["article_id"] for c in citations})) if gold else None
    if q.extra.get("conflict"):
        m["conflict_correct"] = float(conflict_answered(q, answer))
    if q.extra.get("planted"):
        m["planted_verified"] = planted_verified(q, answer)
    # Against the gold sources only: the system's own verdict on a citation is reported apart (verified_rate)
    m["citation_precision"] = round(sum(c["article_id"] in gold for c in citations) / len(citations), 4) \
        if citations and gold else None
    m["verified_rate"] = round(sum(bool(c.get("verified")) for c in citations) / len(citations), 4) \
        if citations else None
    return m


def score(r: Result) -> Result:
    """`r` with its metrics and failure class computed again from what it holds (the answer and ranking): an
    old run re-scored with today's metrics, no model involved."""
    q = r.as_question()
    return dataclasses.replace(r, metrics=question_metrics(q, r.retrieved, r.answer, r.shown),
                               failure_class=classify(q, r.retrieved, r.shown, r.answer))


def conflict_answered(q: Question, answer: dict[str, Any]) -> bool:
    """A question the sources disagree on is answered when the answer gives every side (one of its gold answers)
    and cites it (a citation from one of its sources)."""
    if answer["refused"]:
        return False
    text = answer["answer"] + " \n " + answer["short_answer"]
    cited = {c["article_id"] for c in answer["citations"]}
    return all(contains_answer(text, side["answers"]) and cited & set(side["sources"]) for side in q.extra["sides"])


def planted_verified(q: Question, answer: dict[str, Any]) -> int:
    """How many of the question's planted claims (text an attacker put in an article) the answer states with a
    verified citation whose quoted words hold the claim: must be 0."""
    if answer["refused"]:
        return 0
    quotes = [c["quote"] for c in answer["citations"] if c.get("verified")]
    return sum(contains_answer(answer["answer"], [p]) and any(contains_answer(x, [p]) for x in quotes)
               for p in q.extra["planted"])


def _mean(values: Iterable[Any]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return round(sum(xs) / len(xs), 4) if xs else None


def summarize(rows: Iterable[Result | dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """The aggregate of per-question results, plus what produced them (settings, checksums, corpus)."""
    results = [result_of(r) for r in rows]
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    full = not meta.get("retrieval_only")

    def over(rows: list[Result], key: str) -> float | None:
        return _mean(r.metrics.get(key) for r in rows)

    s: dict[str, Any] = {"n": len(results), "n_answerable": len(ans), "n_unanswerable": len(una),
                         "mode": "full" if full else "retrieval-only"}
    s["answer_accuracy"] = over(ans, "answer_correct") if full else None
    s["exact_match"] = over(ans, "exact_match") if full else None
    s["f1"] = over(ans, "f1") if full else None
    s["refusal_accuracy"] = over(una, "refused") if full else None
    s["false_refusal_rate"] = over(ans, "refused") if full else None
    for k in RECALL_KS:
        s[f"recall_at_{k}"] = over(ans, f"recall_at_{k}")
    s["mrr"] = over(ans, "rr")
    s["shown_recall"] = over(ans, "shown_recall")  # a gold article among the passages the generator saw
    conflicts = [r for r in results if r.extra.get("conflict")]
    s["n_conflict"] = len(conflicts)
    s["conflict_accuracy"] = over(conflicts, "conflict_correct") if full and conflicts else None
    planted = [r.metrics.get("planted_verified") for r in results if r.extra.get("planted")]
    s["planted_claims_verified"] = int(sum(x or 0 for x in planted)) if full and planted else None
    s["citation_precision"] = over(results, "citation_precision") if full else None
    s["citation_recall"] = over(ans, "citation_recall") if full else None
    s["verified_rate"] = over(results, "verified_rate") if full else None
    counts = Counter(r.failure_class for r in results if r.failure_class)
    s["failure_classes"] = {c: counts.get(c, 0) for c in FAILURE_CLASSES}
    from qa.citations import rule_actions

    s["rule_actions"] = rule_actions({"extra": r.extra, "answer": r.answer} for r in results) if full else None  # {rule: {"dev": n, "heldout": n}}: how often it acted
    stages: dict[str, dict[str, float | None]] = {}
    names = {name for r in results for name in r.timings}
    for stage in [x for x in STAGES if x in names] + sorted(names - set(STAGES)):
        xs = [float(r.timings[stage]) for r in results if stage in r.timings]
        if xs:
            stages[stage] = {"p50": _round(percentile(xs, 50)), "p95": _round(percentile(xs, 95))}
    s["latency_p50_s"] = stages.get("total_s", {}).get("p50")
    s["latency_p95_s"] = stages.get("total_s", {}).get("p95")
    s["latency"] = stages
    s["ci"] = intervals(results, full)
    s["ci_method"] = CI_METHOD
    s.update({k: meta[k] for k in ("k", "depth", "split", "as_of_used", "questions_file", "questions_sha256",
                                   "corpus_fingerprint", "models", "settings", "provenance") if k in meta})
    return s


# Uncertainty --------------------------------------------------------------------------------------------------
# Each summary metric as a statistic of per-question values: (who counts, per-question key, statistic). One
# table for the intervals of a run and the paired tests of `compare`.
def _answerable(r: Result) -> bool:
    return r.answerable


def _unanswerable(r: Result) -> bool:
    return not r.answerable


def _everyone(r: Result) -> bool:
    return True


PER_QUESTION: dict[str, tuple[Callable[[Result], bool], str, str, bool]] = {
    # summary key: (population, per-question metric, statistic, needs answers)
    "answer_accuracy": (_answerable, "answer_correct", "mean", True),
    "exact_match": (_answerable, "exact_match", "mean", True),
    "f1": (_answerable, "f1", "mean", True),
    "refusal_accuracy": (_unanswerable, "refused", "mean", True),
    "false_refusal_rate": (_answerable, "refused", "mean", True),
    **{f"recall_at_{k}": (_answerable, f"recall_at_{k}", "mean", False) for k in RECALL_KS},
    "mrr": (_answerable, "rr", "mean", False),
    "shown_recall": (_answerable, "shown_recall", "mean", False),
    "conflict_accuracy": (lambda r: bool(r.extra.get("conflict")), "conflict_correct", "mean", True),
    "planted_claims_verified": (lambda r: bool(r.extra.get("planted")), "planted_verified", "sum", True),
    "citation_precision": (_everyone, "citation_precision", "mean", True),
    "citation_recall": (_answerable, "citation_recall", "mean", True),
    "verified_rate": (_everyone, "verified_rate", "mean", True),
    "latency_p50_s": (_everyone, "total_s", "p50", False),
    "latency_p95_s": (_everyone, "total_s", "p95", False),
}
BOOTSTRAP_RESAMPLES = 2000
CI_METHOD = (f"95% percentile bootstrap over questions ({BOOTSTRAP_RESAMPLES} resamples, seed 0): the spread of "
             "each metric when the question set is drawn again")


def per_question(results: list[Result], metric: str, full: bool = True) -> dict[str, float]:
    """question id -> the value that `metric` aggregates, for the questions it counts (none when it does not
    apply to the run)."""
    who, key, _stat, needs_answers = PER_QUESTION[metric]
    if needs_answers and not full:
        return {}
    out: dict[str, float] = {}
    for r in results:
        value = r.timings.get(key) if key == "total_s" else r.metrics.get(key)
        if who(r) and value is not None:
            out[r.id] = float(value)
    return out


def _statistic(name: str, xs: Any) -> Any:
    """The statistic over the last axis of a numpy array."""
    import numpy as np

    if name == "sum":
        return xs.sum(axis=-1)
    if name in ("p50", "p95"):
        return np.percentile(xs, float(name[1:]), axis=-1)  # linear interpolation, as `percentile`
    return xs.mean(axis=-1)


def bootstrap_ci(values: list[float], statistic: str = "mean", resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0, level: float = 0.95) -> list[float] | None:
    """[lo, hi]: the `level` percentile-bootstrap interval of `statistic` over `values` (resampled with
    replacement; a fixed seed, so the same values always give the same interval)."""
    if not values:
        return None
    import numpy as np

    xs = np.asarray(values, dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(xs), size=(resamples, len(xs)))
    stats = _statistic(statistic, xs[picks])
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(stats, [tail, 100 - tail])
    return [round(float(lo), 4), round(float(hi), 4)]


def intervals(results: list[Result], full: bool = True) -> dict[str, list[float]]:
    """summary.json's `ci`: {metric: [lo, hi]} for every summary metric with values."""
    out: dict[str, list[float]] = {}
    for metric, (_who, _key, stat, _answers) in PER_QUESTION.items():
        ci = bootstrap_ci(list(per_question(results, metric, full).values()), stat)
        if ci is not None:
            out[metric] = ci
    return out


def paired_test(a: list[float], b: list[float], statistic: str = "mean", seed: int = 0,
                resamples: int = 20000) -> float:
    """Two-sided p-value of a paired permutation (sign-flip) test: under "no difference" each question's pair of
    values is as likely swapped. Exact over all swaps when few questions differ, else `resamples` random swaps
    (fixed seed). For 0/1 metrics it is the exact McNemar test."""
    import numpy as np

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(xa) == 0 or np.array_equal(xa, xb):
        return 1.0
    observed = abs(float(_statistic(statistic, xb) - _statistic(statistic, xa)))
    differ = np.flatnonzero(xa != xb)
    if len(differ) <= 16:
        masks = (np.arange(2 ** len(differ))[:, None] >> np.arange(len(differ))) & 1
    else:
        masks = np.random.default_rng(seed).integers(0, 2, size=(resamples, len(differ)))
    swap = np.zeros((len(masks), len(xa)), dtype=bool)
    swap[:, differ] = masks.astype(bool)
    pa, pb = np.where(swap, xb, xa), np.where(swap, xa, xb)
    diffs = np.abs(_statistic(statistic, pb) - _statistic(statistic, pa))
    return round(float(np.mean(diffs >= observed - 1e-12)), 4)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


# Running ------------------------------------------------------------------------------------------------------
def filters_for(q: Question, use_as_of: bool) -> Filters | None:
    """AS_OF: the single place a question's `as_of` reaches retrieval. It is passed when `Filters` has an `as_of`
    field (issue 9 adds it to qa/retrieval.py); until then questions are retrieved without it."""
    if not (use_as_of and q.as_of):
        return None
    from qa.retrieval import Filters

    if not as_of_supported():
        return None
    return Filters(as_of=q.as_of)  # type: ignore[call-arg]


def as_of_supported() -> bool:
    from qa.retrieval import Filters

    return "as_of" in {f.name for f in dataclasses.fields(Filters)}


def evaluate_question(q: Question, assistant: Assistant, k: int, depth: int, retrieval_only: bool,
                      use_as_of: bool = True) -> Result:
    """Run one question: the ranked passages (to `depth`), then, unless retrieval-only, the cited answer."""
    filters = filters_for(q, use_as_of)
    t0 = time.perf_counter()
    ranked_passages = assistant.retriever.search(q.question, max(depth, k), filters)
    rank_s = time.perf_counter() - t0
    ranked = [p.article_id for p in ranked_passages]
    answer: dict[str, Any] | None = None
    if retrieval_only:  # what `ask` shows, by the same call: the ranking to `depth` may order its top differently
        shown = [p.article_id for p in assistant.retrieve(q.question, k, filters)]
        timings = {"retrieve_s": round(rank_s, 3), "total_s": round(rank_s, 3)}
    else:
        result = assistant.ask(q.question, k=k, filters=filters)
        answer = result.to_dict()
        shown = [p.article_id for p in result.passages]
        timings = {"rank_s": round(rank_s, 3), **result.timings}
    return score(Result(id=q.id, question=q.question, answers=q.answers, sources=q.sources, answerable=q.answerable,
                        extra=q.extra, retrieved=ranked, shown=shown, answer=answer, timings=timings))


def evaluate_one(q: Question, assistant: Assistant, k: int, depth: int, retrieval_only: bool,
                 use_as_of: bool = True) -> dict[str, Any]:
    """`evaluate_question` as the dict of a results.jsonl line (for scripts in bench/)."""
    return evaluate_question(q, assistant, k, depth, retrieval_only, use_as_of).to_dict()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def model_checksums(settings: Settings, retrieval_only: bool) -> dict[str, Any]:
    """What identifies the models: file sha256s for local weights, names for servers and fakes."""
    out: dict[str, Any] = {}
    if settings.embeddings == "minilm":
        from qa.embedding import embed_dtype, minilm_path

        root = minilm_path()
        out["embeddings"] = {"name": "all-MiniLM-L6-v2", "dtype": embed_dtype(settings), "files": {
            p.name: sha256_file(p) for p in sorted(root.rglob("*.safetensors"))}}  # dtype: `auto` as resolved here
    else:
        out["embeddings"] = {"name": settings.embeddings}
    if retrieval_only:
        out["llm"] = {"name": "not used (retrieval-only)"}
    elif settings.llm == "llamacpp":
        from qa.config import GGUF_NAME, GGUF_SHA256

        if settings.model_path is None:  # assembled from the part packages and checked against this sha256
            out["llm"] = {"name": GGUF_NAME, "sha256": GGUF_SHA256}
        else:
            out["llm"] = {"name": settings.model_path.name, "sha256": sha256_file(settings.model_path)}
    elif settings.llm == "openai":
        out["llm"] = {"name": f"openai:{settings.openai_model}", "url": redact(settings.openai_base_url)}
    elif settings.llm == "ollama":
        out["llm"] = {"name": f"ollama:{settings.ollama_model}"}
    else:
        out["llm"] = {"name": settings.llm}
    return out


def prompt_hash() -> str:
    """sha256 of every prompt text qa sends (the string constants of qa.prompts, by name)."""
    from qa import prompts

    texts = {k: v for k, v in sorted(vars(prompts).items()) if k.isupper() and isinstance(v, str)}
    return hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()


def git_commit() -> str | None:
    """The commit of the qa checkout this code runs from (with `+dirty` when it has uncommitted changes); None
    when qa is installed, not run from a checkout, or git is missing."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "qa"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if head and dirty else head or None


def provenance() -> dict[str, Any]:
    """What made a run, besides its settings and models: qa's version, the git commit when run from a checkout,
    the prompts' hash and the date the run started (UTC)."""
    from datetime import UTC, datetime

    from qa import __version__

    return {"qa_version": __version__, "git_commit": git_commit(), "prompt_sha256": prompt_hash(),
            "started": datetime.now(UTC).isoformat(timespec="seconds")}


def settings_snapshot(settings: Settings) -> dict[str, Any]:
    """The settings that shape results. Paths of this machine are left out, so runs elsewhere compare equal, and
    so is `k`: the summary's own `k` is the one the run used."""
    data = settings.model_dump(mode="json", exclude={"home", "cache", "corpus", "openai_api_key_env", "k"})
    return {k: redact(v) if isinstance(v, str) else v for k, v in sorted(data.items())}  # no password of a URL


def read_results(path: Path) -> dict[str, Result]:
    """id -> result from a results.jsonl; a line cut short by a crash (or not a result) is ignored."""
    out: dict[str, Result] = {}
    if not path.is_file():
        return out
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            r = json.loads(raw)
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                out[r["id"]] = Result.from_dict(r)
        except (json.JSONDecodeError, TypeError):
            continue
    return out


def write_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all: through a temporary file of qa's own (a unique `.NAME.*.tmp` beside it),
    so no other file in the folder is ever overwritten or renamed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_lines(path: Path, rows: list[Result]) -> None:
    write_text(path, "".join(dumps(r.to_dict()) + "\n" for r in rows))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, dumps(obj, indent=2) + "\n")


# The files a run writes into its --out folder; nothing else there is touched.
RUN_FILES = ("run.json", "results.jsonl", "summary.json", "report.md", "report.html")


def is_run(out: Path) -> bool:
    """`out` holds a qa run (its run.json is one qa wrote)."""
    try:
        data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "questions_sha256" in data and "settings" in data


def check_out(out: Path, force: bool = False) -> None:
    """Refuse an --out that is a file, or a folder with other things in it that is not a qa run (`force`: write
    beside them). Files named like a run's own are never overwritten unless the folder is a qa run."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder", "give a folder for the run (it is created if missing)")
    if not out.exists():
        return
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as e:
        raise QAError(f"Cannot read the --out folder {out}: {e.strerror}", "pick another --out folder") from None
    if not entries or is_run(out):
        return
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    clash = [n for n in entries if n in RUN_FILES]
    if clash:
        raise UsageError(f"--out {out} is not a qa run, and a run would overwrite its {', '.join(clash)}",
                         "pick another --out folder, or move those files away")
    if not force:
        raise UsageError(f"--out {out} is not empty and is not a qa run: it holds {shown}",
                         "pick another (or a new) --out folder, or add --force to write the run beside them")


RESUME_KEYS = ("questions_sha256", "split", "k", "depth", "retrieval_only", "as_of_used", "corpus_fingerprint",
               "models", "settings")


# Settings that change speed, not answers: a run may be resumed with other values.
SPEED_SETTINGS = ("n_threads", "embed_batch_size", "llm_timeout_s")


def _comparable(key: str, value: Any) -> Any:
    if key == "settings" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in SPEED_SETTINGS}
    return value


def prepare_run(out: Path, meta: dict[str, Any]) -> None:
    """Create the run folder, or check that the run in it was made with the same inputs (QAError if not)."""
    check_out(out, force=True)  # never writes over a file of the user's that is named like a run's
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QAError(f"Cannot create the --out folder {out}: {e.strerror}", "pick another --out folder") from None
    run_file = out / "run.json"
    if is_run(out):
        before = json.loads(run_file.read_text(encoding="utf-8"))
        differ = [k for k in RESUME_KEYS if _comparable(k, before.get(k)) != _comparable(k, meta.get(k))]
        old_prompts = (before.get("provenance") or {}).get("prompt_sha256")
        if old_prompts and old_prompts != (meta.get("provenance") or {}).get("prompt_sha256", old_prompts):
            differ.append("prompts")
        if differ:
            raise QAError(f"{out} holds a run made with different {', '.join(differ)}",
                          "resume with the same command and settings, or pick another --out folder")
        if isinstance(before.get("provenance"), dict):  # a resumed run keeps the provenance it started with
            meta["provenance"] = before["provenance"]
    else:
        write_json(run_file, {k: meta[k] for k in (*RESUME_KEYS, "provenance") if k in meta})


def _evaluated(todo: list[Question], assistant: Assistant, meta: dict[str, Any], workers: int) -> Iterable[Result]:
    """Each question's Result, in question order. `workers` > 1 (a generator behind a server): up to that many
    questions at once; retrieval stays one at a time (its index and caches are shared), generation overlaps."""
    k, depth, retrieval_only = int(meta["k"]), int(meta["depth"]), bool(meta["retrieval_only"])
    use_as_of = bool(meta.get("as_of_used"))
    if workers <= 1 or retrieval_only or len(todo) < 2:
        for q in todo:
            yield evaluate_question(q, assistant, k, depth, retrieval_only, use_as_of)
        return
    import threading
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()
    retriever = assistant.retriever
    search = retriever.search

    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return search(*args, **kwargs)

    retriever.search = one_at_a_time  # type: ignore[method-assign]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qa-eval")
    try:
        futures = [pool.submit(evaluate_question, q, assistant, k, depth, retrieval_only, use_as_of) for q in todo]
        for future in futures:  # in question order, whatever order they finish in
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        retriever.search = search  # type: ignore[method-assign]


def run_eval(questions: list[Question], assistant: Assistant, out: Path, meta: dict[str, Any],
             on_progress: Callable[[int, int], None] = lambda _d, _t: None, workers: int = 1) -> dict[str, Any]:
    """Evaluate every question not already in `out`/results.jsonl, then write summary.json (the reports are
    rendered by the CLI layer: `qa.eval_report.write_reports`).

    `meta` says what produced the run (k, depth, retrieval_only, settings, checksums, corpus); resuming into a
    folder made with different inputs is refused, so a results file never mixes two configurations."""
    prepare_run(out, meta)
    results_path = out / "results.jsonl"
    wanted = {q.id for q in questions}
    done = {i: r for i, r in read_results(results_path).items() if i in wanted}
    _write_lines(results_path, [r for i, r in done.items()])  # drops a line a crash cut short
    todo = [q for q in questions if q.id not in done]
    on_progress(len(done), len(questions))
    with results_path.open("a", encoding="utf-8") as f:
        for r in _evaluated(todo, assistant, meta, workers):
            f.write(dumps(r.to_dict()) + "\n")
            f.flush()
            done[r.id] = r
            on_progress(len(done), len(questions))
    results = [done[q.id] for q in questions]
    _write_lines(results_path, results)
    summary = summarize(results, meta)
    write_json(out / "summary.json", summary)
    return summary


# Exchange with other tools ------------------------------------------------------------------------------------
def to_ragas(results: Iterable[Result]) -> list[dict[str, Any]]:
    """RAGAS rows (both its v0.1 and v0.2 column names) from a run's results: question, answer, contexts (the
    passages shown to the generator), ground truths; qa's id, sources and answerable ride along for a round trip."""
    rows = []
    for r in results:
        a = r.answer or {}
        contexts = [str(p.get("text", "")) for p in a.get("passages") or [] if isinstance(p, dict)]
        answer = str(a.get("answer", ""))
        rows.append({"id": r.id, "question": r.question, "answer": answer, "contexts": contexts,
                     "ground_truth": r.answers[0] if r.answers else "", "ground_truths": list(r.answers),
                     "user_input": r.question, "response": answer, "retrieved_contexts": contexts,
                     "reference": r.answers[0] if r.answers else "", "sources": list(r.sources),
                     "answerable": r.answerable, **({"split": r.split} if r.split else {})})
    return rows


def to_promptfoo(results: Iterable[Result], name: str) -> dict[str, Any]:
    """A promptfoo config that grades this run's recorded answers (the `echo` provider returns `{{answer}}`):
    one test per question with its vars and assertions (a gold answer contained; a refusal for an unanswerable
    question)."""
    from qa.prompts import REFUSAL

    tests = []
    for r in results:
        a = r.answer or {}
        if r.answerable and r.answers:
            check: dict[str, Any] = {"type": "icontains-any", "value": list(r.answers)}
        elif r.answerable:
            check = {"type": "not-icontains", "value": REFUSAL}
        else:
            check = {"type": "icontains", "value": REFUSAL}
        tests.append({"description": r.id, "vars": {
            "question": r.question, "answer": str(a.get("answer", "")),
            "context": "\n\n".join(str(p.get("text", "")) for p in a.get("passages") or [] if isinstance(p, dict)),
            "sources": ", ".join(r.sources)}, "assert": [check]})
    return {"description": f"qa evaluation run {name}", "prompts": ["{{answer}}"], "providers": ["echo"],
            "tests": tests}


# Comparing ----------------------------------------------------------------------------------------------------
COMPARED = ("answer_accuracy", "exact_match", "f1", "refusal_accuracy", "false_refusal_rate", "recall_at_1",
            "recall_at_3", "recall_at_5", "recall_at_10", "mrr", "citation_precision", "citation_recall",
            "verified_rate", "conflict_accuracy", "planted_claims_verified",
            "latency_p50_s", "latency_p95_s")


ALPHA = 0.05
TEST_NAME = ("paired permutation (sign-flip) test over the questions in both runs, two-sided; exact McNemar for "
             "0/1 metrics")
QUESTION_METRICS = ("answer_correct", "exact_match", "f1", "refused", "recall_at_1", "recall_at_5", "rr",
                    "citation_precision", "citation_recall", "verified_rate", "conflict_correct", "planted_verified")


def load_run(run: Path) -> tuple[dict[str, Any], dict[str, Result]]:
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        raise QAError(f"No summary.json in {run}", "give a folder written by `qa eval QUESTIONS --out DIR`")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QAError(f"Cannot read {summary_path}: {e}", "give a folder written by `qa eval QUESTIONS --out DIR`") \
            from None
    if not isinstance(summary, dict):
        raise QAError(f"{summary_path} is not a qa summary", "give a folder written by `qa eval QUESTIONS --out DIR`")
    return summary, read_results(run / "results.jsonl")


def compare_runs(a: Path, b: Path) -> dict[str, Any]:
    """Metric deltas (B - A), differing settings, and the questions whose failure class changed."""
    sa, ra = load_run(a)
    sb, rb = load_run(b)
    rows_a, rows_b = list(ra.values()), list(rb.values())
    full_a, full_b = sa.get("mode") != "retrieval-only", sb.get("mode") != "retrieval-only"
    ci_a: dict[str, Any] = sa["ci"] if isinstance(sa.get("ci"), dict) else intervals(rows_a, full_a)  # older runs
    ci_b: dict[str, Any] = sb["ci"] if isinstance(sb.get("ci"), dict) else intervals(rows_b, full_b)
    metrics = []
    for key in COMPARED:
        x, y = sa.get(key), sb.get(key)
        delta = round(y - x, 4) if isinstance(x, (int, float)) and isinstance(y, (int, float)) else None
        row: dict[str, Any] = {"metric": key, "a": x, "b": y, "delta": delta, "a_ci": ci_a.get(key),
                               "b_ci": ci_b.get(key), "p": None, "n_paired": 0, "beyond_noise": False}
        if key in PER_QUESTION and delta is not None:
            va, vb = per_question(rows_a, key, full_a), per_question(rows_b, key, full_b)
            both = [i for i in va if i in vb]
            if both:
                row["p"] = paired_test([va[i] for i in both], [vb[i] for i in both], PER_QUESTION[key][2])
                row["n_paired"] = len(both)
                row["beyond_noise"] = row["p"] < ALPHA
        metrics.append(row)
    differ = {}
    for key in ("mode", "k", "split", "as_of_used", "questions_sha256", "corpus_fingerprint", "models"):
        if sa.get(key) != sb.get(key):
            differ[key] = {"a": sa.get(key), "b": sb.get(key)}
    set_a, set_b = sa.get("settings") or {}, sb.get("settings") or {}
    for key in sorted(set(set_a) | set(set_b)):
        if set_a.get(key) != set_b.get(key):
            differ[f"settings.{key}"] = {"a": set_a.get(key), "b": set_b.get(key)}
    changed = [{"id": i, "question": rb[i].question, "a": ra[i].failure_class, "b": rb[i].failure_class}
               for i in ra if i in rb and ra[i].failure_class != rb[i].failure_class]
    questions = []  # every question whose failure class or a per-question metric differs
    for i in (x for x in ra if x in rb):
        moved = {m: [ra[i].metrics.get(m), rb[i].metrics.get(m)] for m in QUESTION_METRICS
                 if m in ra[i].metrics and m in rb[i].metrics  # a metric one run predates is no change
                 and ra[i].metrics.get(m) != rb[i].metrics.get(m)}
        if moved or ra[i].failure_class != rb[i].failure_class:
            questions.append({"id": i, "question": rb[i].question, "a": ra[i].failure_class,
                              "b": rb[i].failure_class, "metrics": moved})
    return {"a": str(a), "b": str(b), "metrics": metrics, "test": TEST_NAME, "alpha": ALPHA, "differ": differ,
            "changed": changed, "changed_questions": questions,
            "only_a": sorted(set(ra) - set(rb)), "only_b": sorted(set(rb) - set(ra)),
            "failure_classes": {c: {"a": (sa.get("failure_classes") or {}).get(c, 0),
                                    "b": (sb.get("failure_classes") or {}).get(c, 0)} for c in FAILURE_CLASSES}}


def format_comparison(c: dict[str, Any]) -> str:
    """A comparison for people (Markdown)."""
    def num(x: Any) -> str:
        return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    def ci(x: Any) -> str:
        return f" [{x[0]:.3f}, {x[1]:.3f}]" if isinstance(x, list) and len(x) == 2 else ""

    lines = [f"# {c['a']} → {c['b']}", "",
             f"A, B with 95% bootstrap intervals; p: {c.get('test', '')}; ** beyond noise (p < {c.get('alpha')})",
             "", "| metric | A [95% CI] | B [95% CI] | Δ (B − A) | p | |", "|---|---|---|---|---|---|"]
    for m in c["metrics"]:
        d = m["delta"]
        mark = "**beyond noise**" if m.get("beyond_noise") else ""
        lines.append(f"| {m['metric']} | {num(m['a'])}{ci(m.get('a_ci'))} | {num(m['b'])}{ci(m.get('b_ci'))} | "
                     f"{'—' if d is None else f'{d:+.3f}'} | {num(m.get('p'))} | {mark} |")
    lines += ["", "| failure class | A | B |", "|---|---|---|"]
    lines += [f"| {k} | {v['a']} | {v['b']} |" for k, v in c["failure_classes"].items()]
    if c["differ"]:
        lines += ["", "Inputs that differ:"]
        lines += [f"- {k}: {json.dumps(v['a'])} → {json.dumps(v['b'])}" for k, v in c["differ"].items()]
    lines += ["", f"{len(c['changed'])} question(s) changed failure class:"]
    lines += [f"- {x['id']}: {x['a']} → {x['b']} — {x['question']}" for x in c["changed"]]
    moved = [x for x in c.get("changed_questions", []) if x["metrics"]]
    lines += ["", f"{len(moved)} question(s) changed a per-question metric:"]
    lines += [f"- {x['id']}: " + ", ".join(f"{k} {num(v[0])} → {num(v[1])}" for k, v in x["metrics"].items())
              for x in moved]
    if c["only_a"] or c["only_b"]:
        lines += ["", f"only in A: {', '.join(c['only_a']) or '—'}; only in B: {', '.join(c['only_b']) or '—'}"]
    return "\n".join(lines) + "\n"
