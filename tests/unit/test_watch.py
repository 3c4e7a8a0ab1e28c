"""Saved questions (qa/watch.py): storage, which questions a change can affect, the answer diff, the CLI's lines
and chat's /watch. Fake embeddings and the fake generator come in through the factories."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from qa.chat import ChatBackend, run_chat
from qa.config import Settings
from qa.embedding import make_embeddings
from qa.errors import QAError
from qa.ingest import ingest
from qa.store import open_store
from qa.types import Answer, Event, Passage
from qa.watch import (
    add,
    affected,
    check,
    compare_answers,
    editing,
    find,
    load,
    passage_key,
    questions_path,
    remove,
    timeline,
)
from tests.hostile import TERMINAL_ATTACKS

QA = [sys.executable, "-m", "qa"]


def _article(d: Path, name: str, title: str, date: str, text: str) -> None:
    (d / f"{name}.md").write_text(f"---\nid: {name}\ntitle: {title}\ndate: {date}\nsource: Wire\n---\n{text}\n")


def _news(tmp_path: Path) -> Path:
    d = tmp_path / "news"
    d.mkdir()
    _article(d, "aid-1", "Aid for Ukraine", "2022-06-15",
             "The United States announced $350 million in military aid for Ukraine. The total aid to Ukraine now "
             "stands at $5.6 billion since February 24.")
    _article(d, "wheat", "Wheat exports", "2022-06-10",
             "Egypt imported record wheat volumes through Alexandria. Bread prices rose in June.")
    _article(d, "monsoon", "Monsoon", "2022-06-03", "Heavy monsoon rains flooded parts of Dhaka. Schools closed.")
    return d


def _passage(n: int, article_id: str, chunk: str, text: str = "some text") -> Passage:
    return Passage(n=n, article_id=article_id, chunk_id=chunk, score=1.0, text=text, title=article_id.title(),
                   date="2022-06-01")


def _last(passages: list[Passage]) -> dict[str, Any]:
    return {"passages": [{"n": p.n, "article_id": p.article_id, "chunk_id": p.chunk_id, "key": passage_key(p)}
                         for p in passages], "answer": "x", "citations": []}


# Storage ------------------------------------------------------------------------------------------------------

def test_saved_questions_are_kept_named_listed_and_removed() -> None:
    s = Settings()
    first = add(s, "  How much  aid did Ukraine get? ", filters={"since": "2022-01-01", "source": ""})
    second = add(s, "How much aid did Ukraine get?", name="aid", filters={"until": "2022-12-31"}, k=4)
    assert first["name"] == "aid-ukraine-get" and first["question"] == "How much aid did Ukraine get?"
    assert first["filters"] == {"since": "2022-01-01"} and second["k"] == 4
    data = json.loads(questions_path(s).read_text())
    assert data["format"] == "qa-watch" and [q["name"] for q in data["questions"]] == ["aid-ukraine-get", "aid"]
    assert find(load(s), "2")["name"] == "aid"  # the number in `qa watch list`
    with pytest.raises(QAError, match="already saved as 'aid-ukraine-get'"):
        add(s, "How much aid did Ukraine get?", filters={"since": "2022-01-01"})
    with pytest.raises(QAError, match="already named 'aid'"):
        add(s, "Another question?", name="aid")
    assert remove(s, "aid")["k"] == 4
    with pytest.raises(QAError, match="No saved question named 'aid'") as e:
        remove(s, "aid")
    assert "aid-ukraine-get" in e.value.hint
    assert [q["name"] for q in load(s)] == ["aid-ukraine-get"]
    assert not list(questions_path(s).parent.glob(".*tmp*"))  # written whole, no temporary left


def test_a_damaged_file_is_named_and_never_overwritten() -> None:
    s = Settings()
    add(s, "Who leads the talks?")
    questions_path(s).write_text('{"format": "qa-watch", "questions": [{"name": 3}]}')
    before = questions_path(s).read_bytes()
    for action in (lambda: add(s, "Another?"), lambda: load(s), lambda: remove(s, "x")):
        with pytest.raises(QAError, match="cannot be read") as e:
            action()
        assert str(questions_path(s)) in e.value.message
    assert questions_path(s).read_bytes() == before


def test_concurrent_saves_lose_nothing() -> None:
    s = Settings()
    errors: list[BaseException] = []

    def save(i: int) -> None:
        try:
            add(s, f"Question number {i}?", name=f"q{i}")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(q["name"] for q in load(s)) == sorted(f"q{i}" for i in range(12))


def test_an_error_inside_an_edit_writes_nothing() -> None:
    s = Settings()
    add(s, "Kept?", name="kept")
    with pytest.raises(RuntimeError), editing(s) as questions:
        questions.clear()
        raise RuntimeError("boom")
    assert [q["name"] for q in load(s)] == ["kept"]


@pytest.mark.parametrize("name", ["bad name", "-x", "a/b", "x" * 65, "12"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(QAError):
        add(Settings(), "What now?", name=name)
    assert load(Settings()) == []


# Which questions a change can affect ------------------------------------------------------------------------------

def test_affected_only_by_new_or_changed_passages() -> None:
    before = [_passage(1, "a", "a::0"), _passage(2, "b", "b::3")]
    none: dict[str, list[str]] = {"added": ["z"], "changed": [], "removed": []}
    assert affected(_last(before), before, none) == []  # an article arrived, but the search does not find it
    assert affected(None, before, none) == ["no answer yet"]
    now = [_passage(1, "new", "new::0"), _passage(2, "a", "a::0")]
    why = affected(_last(before), now, {"added": ["new"], "changed": [], "removed": []})
    assert why and "passage 1 is from a new article" in why[0]
    why = affected(_last(before), before, {"added": [], "changed": ["b"], "removed": []})
    assert any("changed" in w for w in why)
    why = affected(_last(before), before[:1], {"added": [], "changed": [], "removed": ["b"]})
    assert any("since removed" in w for w in why)
    assert affected(_last(before), list(reversed(before)), none)  # another order: another prompt
    edited = [before[0], _passage(2, "b", "b::3", "other text")]
    assert affected(_last(before), edited, None)  # index state unknown: the passages themselves are compared


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 5)), min_size=1, max_size=5, unique=True),
       st.lists(st.sampled_from("abcdefgh"), max_size=4))
def test_same_passages_from_unchanged_articles_never_regenerate(chunks: list[tuple[str, int]],
                                                                  arrived: list[str]) -> None:
    passages = [_passage(i, a, f"{a}::{c}") for i, (a, c) in enumerate(chunks, 1)]
    used = {a for a, _c in chunks}
    changes = {"added": sorted(set(arrived) - used), "changed": [], "removed": []}
    assert affected(_last(passages), passages, changes) == []
    if set(arrived) & used:  # one of its articles changed: asked again
        assert affected(_last(passages), passages, {"added": [], "changed": sorted(set(arrived) & used),
                                                    "removed": []})


# The diff ------------------------------------------------------------------------------------------------------

def test_diff_names_sentences_numbers_and_new_sources() -> None:
    old = {"answer": "On 15 June 2022, total security assistance reached $5.6 billion [1]. It includes 10 "
                     "howitzers [1].", "citations": [{"n": 1, "article_id": "june-15"}], "refused": False}
    new = {"answer": "On 1 July 2022, total security assistance reached $6.9 billion [2]. It includes 10 "
                     "howitzers [1].",
           "citations": [{"n": 2, "article_id": "july-1", "title": "$820 Million", "source": "State",
                          "date": "2022-07-01", "url": "https://x"}, {"n": 1, "article_id": "june-15"}],
           "refused": False}
    d = compare_answers(old, new, {"july-1"})
    assert not d["same"]
    assert d["sentences_added"] == ["On 1 July 2022, total security assistance reached $6.9 billion."]
    assert d["sentences_removed"] == ["On 15 June 2022, total security assistance reached $5.6 billion."]
    assert d["numbers_moved"] == [{"before": "$5.6 billion", "now": "$6.9 billion", "counts": ""}]
    assert d["numbers_added"] == d["numbers_removed"] == []  # the days of the dates are not amounts
    assert [(c["article_id"], c["date"], c["new_article"]) for c in d["new_sources"]] == [("july-1", "2022-07-01",
                                                                                          True)]
    assert compare_answers(old, old, set())["same"]


def test_numbers_moved_pair_the_same_counted_thing() -> None:
    old = {"answer": "It pledged $10 million in humanitarian aid and 300 trucks [1].", "citations": []}
    new = {"answer": "It pledged $12 million in humanitarian aid and 300 trucks [1].", "citations": []}
    d = compare_answers(old, new, set())
    assert [(m["before"], m["now"]) for m in d["numbers_moved"]] == [("$10 million", "$12 million")]
    assert "humanitarian" in d["numbers_moved"][0]["counts"]


# The check with the fake generator ---------------------------------------------------------------------------

def test_only_questions_a_new_article_reaches_are_regenerated(tmp_path: Path, fake_env: None) -> None:
    s = Settings()
    d = _news(tmp_path)
    store = open_store(s, make_embeddings(s))
    ingest([d], store, s)
    add(s, "How much total military aid has Ukraine received?", name="aid", k=1)
    add(s, "What flooded Dhaka during the monsoon?", name="monsoon", k=1)
    first = check(s)
    assert [r["status"] for r in first["questions"]] == ["first", "first"] and first["asked"] == 2
    again = check(s)  # nothing changed: neither is searched nor generated
    assert [r["status"] for r in again["questions"]] == ["unchanged", "unchanged"]
    assert (again["asked"], again["not_asked"], again["generator_calls"]) == (0, 2, 0)
    _article(d, "aid-2", "More aid for Ukraine", "2022-07-01",
             "The United States announced $820 million in military aid for Ukraine. The total military aid to "
             "Ukraine now stands at $6.9 billion since February 24.")
    ingest([d], store, s)
    after = check(s)
    rows = {r["name"]: r for r in after["questions"]}
    assert rows["monsoon"]["status"] == "unchanged" and rows["monsoon"]["reasons"] == []
    assert rows["aid"]["status"] == "changed", rows["aid"]
    assert "new article" in rows["aid"]["reasons"][0]
    assert [c["article_id"] for c in rows["aid"]["diff"]["new_sources"]] == ["aid-2"]
    assert rows["aid"]["diff"]["new_sources"][0]["new_article"]
    assert (after["asked"], after["not_asked"]) == (1, 1) and after["generator_calls"] >= 1
    saved = {q["name"]: q for q in load(s)}
    assert len(saved["aid"]["history"]) == 2 and len(saved["monsoon"]["history"]) == 1
    assert saved["aid"]["history"][1]["articles"] == 4 and saved["aid"]["history"][0]["articles"] == 3
    log = timeline(saved["aid"])
    assert [r["sources"][0]["article_id"] for r in log] == ["aid-1", "aid-2"]
    assert log[1]["diff"]["numbers_moved"]


def test_a_removed_article_re_asks_the_questions_it_answered(tmp_path: Path, fake_env: None) -> None:
    from qa.ingest import remove as remove_articles

    s = Settings()
    d = _news(tmp_path)
    store = open_store(s, make_embeddings(s))
    ingest([d], store, s)
    add(s, "What did Egypt import through Alexandria?", name="wheat", k=1)
    check(s)
    remove_articles(["wheat"], store, s)
    row = check(s)["questions"][0]
    assert row["status"] in ("changed", "same") and any("since removed" in r for r in row["reasons"])


# The command line (the installed entry point, as a user runs it) --------------------------------------------------

def _qa(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_HOME=str(home), QA_LLM="fake", QA_EMBEDDINGS="fake")
    return subprocess.run([*QA, *args], check=False, capture_output=True, text=True, env=env, timeout=300)


def test_cli_lines_for_mistakes_and_scripts(qa_home: Path) -> None:
    r = _qa("watch", "list", "--json", home=qa_home)
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = _qa("watch", "add", "What now?", "--name", "bad name", "--no-ask", home=qa_home)
    assert r.returncode == 2 and r.stderr.count("\n") <= 2 and "--name 'bad name' cannot be used" in r.stderr
    r = _qa("watch", "add", "What now?", "--since", "2022-13-01", "--no-ask", home=qa_home)
    assert r.returncode == 2 and "--since '2022-13-01' is not a date" in r.stderr
    r = _qa("watch", "add", "Who leads the talks in Vienna?", "--name", "vienna", "--no-ask", "--json", home=qa_home)
    assert r.returncode == 0 and json.loads(r.stdout)["name"] == "vienna"
    for cmd in (("watch", "rm", "nope"), ("watch", "log", "nope"), ("watch", "--name", "nope")):
        r = _qa(*cmd, home=qa_home)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert "No saved question named 'nope'" in r.stderr and "vienna" in r.stderr
    r = _qa("watch", "log", "vienna", "--json", home=qa_home)
    assert json.loads(r.stdout)["timeline"] == []
    r = _qa("watch", "rm", "1", home=qa_home)
    assert r.returncode == 0 and r.stdout.startswith("removed vienna")


def test_cli_question_text_never_drives_the_terminal(qa_home: Path) -> None:
    hostile = "Who" + "".join(TERMINAL_ATTACKS) + " leads?"
    r = _qa("watch", "add", hostile, "--name", "h", "--no-ask", home=qa_home)
    assert r.returncode == 0
    for cmd in (("watch", "list"), ("watch", "log", "h"), ("watch", "rm", "h")):
        out = _qa(*cmd, home=qa_home)
        assert out.returncode == 0 and "leads?" in out.stdout
        assert not set(out.stdout) & set("\x1b\x9b\x9d\x9c\x07\r") and "pwned" not in out.stdout


def test_cli_watch_and_ingest_watch_end_to_end(tmp_path: Path, qa_home: Path) -> None:
    d = _news(tmp_path)
    assert _qa("ingest", str(d), home=qa_home).returncode == 0
    r = _qa("watch", "add", "How much total military aid has Ukraine received?", "--name", "aid", "-k", "1",
            home=qa_home)
    assert r.returncode == 0 and r.stdout.startswith("saved as aid") and "[1]" in r.stdout
    r = _qa("watch", home=qa_home)
    assert "aid unchanged" in r.stdout and "1 not re-asked (1 generation saved); 0 generator calls" in r.stdout
    _article(d, "aid-2", "More aid for Ukraine", "2022-07-01",
             "The United States announced $820 million in military aid for Ukraine. The total military aid to "
             "Ukraine now stands at $6.9 billion since February 24.")
    r = _qa("ingest", str(d), "--watch", home=qa_home)
    assert r.returncode == 0, r.stderr
    assert "aid new answer" in r.stdout and "More aid for Ukraine (new article)" in r.stdout
    # piped: before and now one line each, whole (no table cut to 80 columns)
    lines = r.stdout.splitlines()
    assert any(x.startswith("  before (") for x in lines) and any(x.startswith("  now (") for x in lines), r.stdout
    assert "│" not in r.stdout and "┃" not in r.stdout
    assert "2022-07-01" in r.stdout and "1 re-asked, 0 not re-asked" in r.stdout
    log = json.loads(_qa("watch", "log", "aid", "--json", home=qa_home).stdout)
    assert len(log["timeline"]) == 2 and log["timeline"][1]["sources"][0]["date"] == "2022-07-01"


# Chat ----------------------------------------------------------------------------------------------------------

def test_chat_watch_saves_the_question_as_searched() -> None:
    saved: list[tuple[Any, ...]] = []
    answer = Answer(question="And the total?", standalone_question="What is the total aid to Ukraine?",
                    refused=False, answer="It is $5.6 billion [1].", short_answer="$5.6 billion")

    def stream(question: str, k: int, filters: dict[str, str], standalone: str | None) -> Any:
        yield Event("passages", passages=[])
        yield Event("answer", answer=answer)

    def watch(question: str, filters: dict[str, str], k: int, ans: Any, name: str) -> str:
        if name == "taken":
            raise QAError("A saved question is already named 'taken'", "choose another name")
        saved.append((question, filters, k, ans, name))
        return name or "total-aid-ukraine"

    out = io.StringIO()
    lines = iter(["/watch", "What is the total aid to Ukraine?", "/filter since=2022-01-01", "/watch",
                  "/watch taken", "/watch a b"])

    def read(_toolbar: Any) -> str:
        line = next(lines, None)
        if line is None:
            raise EOFError
        return line

    run_chat(ChatBackend(stream=stream, watch=watch, k=3), read, Console(file=out, width=200))
    text = out.getvalue()
    assert "error: no question yet" in text
    assert saved == [("What is the total aid to Ukraine?", {"since": "2022-01-01"}, 3, answer, "")]
    assert "Watching What is the total aid to Ukraine? as total-aid-ukraine" in text
    assert "error: A saved question is already named 'taken'" in text
    assert "error: /watch takes at most one name" in text


def test_a_running_total_moves_even_among_other_amounts_and_iso_dates_are_not_amounts() -> None:
    # the shape of a real answer (tests/integration/test_watch_statedept.py): the total first, then older totals
    old = {"answer": "On 15 June 2022, $5.6 billion [1] more than $3.2 billion [2]", "citations": []}
    new = {"answer": "On 23 June 2022, the total is more than $6.1 billion. [1] It brings the total to more than "
                     "$3.2 billion, and $2.5 billion since February 24. [2] The State Department, 2022-04-14, says "
                     "$1.2 billion [3].", "citations": []}
    d = compare_answers(old, new, set())
    assert [(m["before"], m["now"]) for m in d["numbers_moved"]] == [("$5.6 billion", "$6.1 billion")]
    assert d["numbers_added"] == ["$2.5 billion", "$1.2 billion"] and d["numbers_removed"] == []
