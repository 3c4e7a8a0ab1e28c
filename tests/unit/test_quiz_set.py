"""eval/quiz.jsonl, the weekly news quiz over the State Department releases: its lines are well formed, every gold
source is a real release dated on or before the question's as_of (at most 6 days before it), every gold answer is
in a listed source, and the answerable/unanswerable and dev/heldout proportions hold. Needs ../shared/corpus."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from qa.evaluation import load_questions
from tests.conftest import ROOT, STATE_DEPT, need_state_dept

QUIZ = ROOT / "eval" / "quiz.jsonl"
KINDS = {"person", "organisation", "work", "event", "place", "number", "date", "yesno"}
FIELDS = {"id", "question", "answers", "sources", "answerable", "split", "as_of", "kind"}
_FRONT = re.compile(r'^(id|date): "([^"]*)"$', re.MULTILINE)


def _norm(text: str) -> str:
    """Lower case with Unicode spaces, quotes and dashes made plain, and runs of white space as one space."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]", "-", text)
    return " ".join(text.split()).lower()


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in QUIZ.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[date, str]]:
    """Front-matter id -> (date, normalized text) of every release."""
    need_state_dept()
    out = {}
    for path in STATE_DEPT.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        front = dict(_FRONT.findall(text.split("\n---\n", 1)[0]))
        out[front["id"]] = (date.fromisoformat(front["date"][:10]), _norm(text))
    return out


def test_lines_are_well_formed(rows: list[dict]) -> None:
    assert len(rows) >= 50
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for r in rows:
        assert FIELDS <= set(r), f"{r.get('id')}: missing {FIELDS - set(r)}"
        assert r["kind"] in KINDS, f"{r['id']}: kind {r['kind']!r}"
        assert r["split"] in ("dev", "heldout"), r["id"]
        date.fromisoformat(r["as_of"])
        assert isinstance(r["question"], str) and r["question"].strip()
        if r["answerable"]:
            assert re.fullmatch(r"qz-\d{3}", r["id"]), r["id"]
            assert r["answers"] and r["sources"], r["id"]
            assert all(1 <= len(a.split()) <= 6 for a in r["answers"]), r["id"]
            if r["kind"] == "yesno":
                assert set(r["answers"]) <= {"Yes", "No"}, r["id"]
        else:
            assert re.fullmatch(r"qz-u\d{2}", r["id"]), r["id"]
            assert r["answers"] == [] and r["sources"] == [], r["id"]
            assert str(r.get("note", "")).strip(), f"{r['id']}: an unanswerable question needs a `note`"


def test_proportions(rows: list[dict]) -> None:
    unanswerable = sum(not r["answerable"] for r in rows) / len(rows)
    heldout = sum(r["split"] == "heldout" for r in rows) / len(rows)
    assert 0.25 <= unanswerable <= 0.40, unanswerable
    assert 0.20 <= heldout <= 0.40, heldout
    for answerable in (True, False):  # held-out questions on both sides
        assert any(r["split"] == "heldout" and r["answerable"] is answerable for r in rows)


def test_sources_exist_and_are_dated_within_the_week(rows: list[dict], corpus: dict[str, tuple[date, str]]) -> None:
    for r in rows:
        as_of = date.fromisoformat(r["as_of"])
        for sid in r["sources"]:
            assert sid in corpus, f"{r['id']}: unknown article id {sid}"
            assert corpus[sid][0] <= as_of, f"{r['id']}: {sid} is dated after as_of {as_of}"
        if r["sources"]:
            newest = max(corpus[s][0] for s in r["sources"])
            assert (as_of - newest).days <= 6, f"{r['id']}: as_of {as_of} is more than 6 days after {newest}"


def test_gold_answers_occur_in_a_source(rows: list[dict], corpus: dict[str, tuple[date, str]]) -> None:
    problems: list[str] = []
    for r in rows:
        if not r["answerable"] or r["kind"] == "yesno":  # "Yes"/"No" are verdicts, not spans of the release
            continue
        texts = [corpus[s][1] for s in r["sources"]]
        problems += [f"{r['id']}: {a!r} is in none of its sources" for a in r["answers"]
                     if not any(_norm(a) in t for t in texts)]
        problems += [f"{r['id']}: source {sid} holds no gold answer" for sid, text in zip(r["sources"], texts, strict=True)
                     if not any(_norm(a) in text for a in r["answers"])]
    assert not problems, "\n".join(problems)


def test_load_questions_accepts_every_line(rows: list[dict]) -> None:
    qs = load_questions(QUIZ, strict=True)
    assert len(qs.questions) == len(rows)
    assert not qs.problems and not qs.warnings


def test_no_overlap_with_the_other_state_department_sets(rows: list[dict]) -> None:
    """The quiz asks facts the older sets do not: no quiz question shares a gold answer with a statedept(-time)
    question that cites one of its sources (a long briefing may answer questions of both on other facts)."""
    for name in ("statedept.jsonl", "statedept-time.jsonl"):
        for line in Path(ROOT / "eval" / name).read_text(encoding="utf-8").splitlines():
            old = json.loads(line) if line.strip() else None
            if not old:
                continue
            for r in rows:
                if set(r["sources"]) & set(old["sources"]):
                    same = {_norm(a) for a in r["answers"]} & {_norm(a) for a in old["answers"]}
                    assert not same, f"{r['id']} asks what {old['id']} in {name} asks: {same}"
