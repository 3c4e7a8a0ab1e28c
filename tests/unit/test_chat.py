"""The chat loop with scripted backends (lambdas) and, through the CLI, with the fake backends users can select."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from qa.chat import ChatBackend, Turn, clean_rewrite, needs_rewrite, rewrite_prompt, run_chat
from qa.cli import app
from qa.types import Answer, Article, Citation, Event, Passage

SEED_ID = "france24-blinken-iraq-militias"
TEXT = ("Blinken urged Iraq to curb Iranian-backed militias. He also asked Iraq to stop Iranian arms transfers to "
        "Syria. Iraq still buys electricity from Iran.")
runner = CliRunner()


def _answer(question: str, standalone: str | None) -> Answer:
    cit = Citation(n=1, article_id="seed", title="Blinken in Baghdad", source="www.france24.com", date="2024-12-13",
                   url="https://example.org/b", quote=TEXT[52:111], start=52, end=111, verified=True)
    passages = [Passage(n=1, article_id="seed", chunk_id="seed:0", title="Blinken in Baghdad",
                        source="www.france24.com", date="2024-12-13", start=52, end=111, score=0.8,
                        text=TEXT[52:111]),
                Passage(n=2, article_id="power", chunk_id="power:0", title="Iraq power", source="Wire",
                        date="2024-11-01", start=0, end=10, score=0.5, text="Iraq power")]
    return Answer(question=question, standalone_question=standalone or question, refused=False,
                  answer="He asked Iraq to stop Iranian arms transfers to Syria [1].", short_answer="arms transfers",
                  citations=[cit], passages=passages)


class Script:
    """A backend that records every call; `stream` can be told to raise Ctrl-C after its first token."""

    def __init__(self, rewrite: str = "What did Blinken ask Iraq to stop regarding Syria?") -> None:
        self.calls: list[tuple[str, int, dict[str, str], str | None]] = []
        self.prompts: list[str] = []
        self.rewrite = rewrite
        self.interrupt_next = False
        self.interrupted = 0
        self.closed = False

    def stream(self, question: str, k: int, filters: dict[str, str], standalone: str | None) -> Iterator[Any]:
        self.calls.append((question, k, filters, standalone))
        ans = _answer(question, standalone)
        yield Event("passages", passages=ans.passages)
        try:
            yield Event("token", token="He asked ")
            if self.interrupt_next:
                self.interrupt_next = False
                raise KeyboardInterrupt
            yield Event("token", token="Iraq…")
            yield Event("answer", answer=ans)
        except GeneratorExit:
            self.closed = True
            raise

    def complete(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return f"Standalone question: {self.rewrite}\n"

    def backend(self) -> ChatBackend:
        def interrupted() -> None:
            self.interrupted += 1

        return ChatBackend(stream=self.stream, complete=self.complete, k=4, on_interrupt=interrupted,
                           article=lambda i: Article(id=i, title="Blinken in Baghdad", source="www.france24.com",
                                                date="2024-12-13", url="https://example.org/b", text=TEXT))


def _run(script: Script, lines: list[str], live: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    feed = iter(lines)

    def read(_toolbar: Any) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError
        if line == "^C":
            raise KeyboardInterrupt
        return line

    code = run_chat(script.backend(), read, Console(file=out, width=200, highlight=False), live=live)
    return code, out.getvalue()


# --- the rewrite decision -----------------------------------------------------------------------------------

HISTORY = [Turn("What did Blinken ask Sudani?", "What did Blinken ask Sudani?", "To curb militias.")]


@pytest.mark.parametrize("question", ["What did he want to stop regarding Syria?", "And when was that?",
                                      "When was that?", "Why?", "What about Syria?", "Did they agree to it?",
                                      "How did Sudani respond to those demands?"])
def test_follow_ups_are_rewritten(question: str) -> None:
    assert needs_rewrite(question, HISTORY)


@pytest.mark.parametrize("question", ["What did Blinken ask Sudani about Syria?", "Who won the 2022 World Cup?",
                                      "Is there a ceasefire in Gaza?", "Which country supplies Iraq's power?"])
def test_self_contained_questions_are_not_rewritten(question: str) -> None:
    assert not needs_rewrite(question, HISTORY)


def test_the_first_question_is_never_rewritten() -> None:
    assert not needs_rewrite("What did he want?", [])


def test_the_rewrite_prompt_holds_only_the_last_two_turns() -> None:
    turns = [Turn("Q1 wheat?", "What about Ukraine's wheat exports?", "Record volumes."),
             Turn("Q2", "What did Blinken ask Sudani?", "To curb militias."),
             Turn("Q3", "Which country supplies Iraq's electricity?", "Iran.")]
    prompt = rewrite_prompt("Why?", turns)
    assert "wheat" not in prompt
    assert "What did Blinken ask Sudani?" in prompt and "Iran." in prompt and "Last question: Why?" in prompt


def test_clean_rewrite_keeps_the_question_and_rejects_non_questions() -> None:
    assert clean_rewrite('Standalone question: "What did Blinken want to stop?"\nextra', "x") == \
        "What did Blinken want to stop?"
    assert clean_rewrite("I cannot answer this from the provided sources.", "What did he say?") is None
    assert clean_rewrite("   ", "Why?") is None
    assert clean_rewrite("word " * 80, "Why?") is None


# --- the loop -----------------------------------------------------------------------------------------------

def test_a_follow_up_is_rewritten_shown_and_searched_with_the_standalone_question() -> None:
    script = Script()
    code, out = _run(script, ["What did Blinken ask Sudani?", "What did he want to stop regarding Syria?"])
    assert code == 0
    assert len(script.prompts) == 1  # the first question needed no rewrite
    assert "What did Blinken ask Sudani?" in script.prompts[0]
    assert script.calls[0][3] is None
    assert script.calls[1][3] == "What did Blinken ask Iraq to stop regarding Syria?"
    assert "Searching for: What did Blinken ask Iraq to stop regarding Syria?" in out


def test_found_passages_then_answer_then_numbered_sources_with_quotes() -> None:
    _code, out = _run(Script(), ["What did Blinken ask Sudani?"])
    found = out.index("Found 2 passages in 2 articles:")
    answer = out.index("He asked Iraq to stop Iranian arms transfers to Syria [1].")
    quote = out.index("[1] ✓ “He also asked Iraq to stop Iranian arms transfers to Syria.”")
    assert found < answer < quote
    assert "[1] Blinken in Baghdad\n    www.france24.com · 2024-12-13\n" in out
    assert "[2] Iraq power\n    Wire · 2024-11-01\n" in out


def test_a_rewrite_the_model_botches_falls_back_to_the_question_as_asked() -> None:
    script = Script(rewrite="I cannot answer this from the provided sources.")
    _code, out = _run(script, ["What did Blinken ask Sudani?", "Why?"])
    assert script.calls[1][3] is None and "could not rewrite it" in out


def test_k_filter_and_asof_reach_the_search() -> None:
    script = Script()
    _code, out = _run(script, ["/k 2", "/filter source=www.france24.com since=2024-01-01", "/asof 2024-12-31",
                               "Q1 about Blinken?", "/filter off", "Q2 about Blinken?"])
    assert script.calls[0][1] == 2
    assert script.calls[0][2] == {"source": "www.france24.com", "since": "2024-01-01", "as_of": "2024-12-31"}
    assert script.calls[1][2] == {}
    assert "Filters off" in out


def test_k_and_days_are_checked_as_qa_ask_checks_them() -> None:
    script = Script()
    _code, out = _run(script, ["/asof 0001-01-01", "/filter until=2024-08-031", "Q about Blinken?"])
    assert "as-of '0001-01-01' is out of range" in out
    assert "until '2024-08-031' is not a date" in out
    assert script.calls[0][2] == {}


def test_bad_commands_say_what_to_do_and_change_nothing() -> None:
    script = Script()
    code, out = _run(script, ["/filter since=last-week", "/k many", "/open 1", "/sources", "/frobnicate",
                              "Q about Blinken?"])
    assert code == 0
    assert "since 'last-week' is not a date — write it as YYYY-MM-DD" in out
    assert "/k needs a number of passages from 1 to 20" in out  # the fake backend's context fits 20
    assert out.count("no answer yet — ask a question first") == 2
    assert "unknown command /frobnicate — type /help" in out
    assert script.calls[0][1:3] == (4, {})


def test_sources_and_open_show_the_cited_words_in_their_article() -> None:
    _code, out = _run(Script(), ["Q about Blinken?", "/sources", "/open 1", "/open 9"])
    assert "https://example.org/b" in out and "id seed, characters 52–111" in out
    assert "Also retrieved (not cited):" in out and "Iraq power" in out
    assert "Blinken urged Iraq to curb Iranian-backed militias. He also asked Iraq to stop" in out  # /open context
    assert "no source 9 in the last answer — choose one of 1, 2" in out


def test_clear_forgets_the_conversation() -> None:
    script = Script()
    _code, _out = _run(script, ["What did Blinken ask Sudani?", "/clear", "What did he want?"])
    assert script.prompts == [] and script.calls[1][3] is None


def test_ctrl_c_stops_the_answer_and_the_session_goes_on() -> None:
    script = Script()
    script.interrupt_next = True
    code, out = _run(script, ["What did Blinken ask Sudani?", "^C", "Again about Blinken?", "/quit", "never"],
                     live=True)
    assert code == 0 and "stopped" in out
    assert script.interrupted == 1
    assert len(script.calls) == 2 and "He asked Iraq to stop Iranian arms transfers to Syria [1]." in out
    assert "never" not in [c[0] for c in script.calls]


# --- through the CLI, with the fake backends ----------------------------------------------------------------

def test_piped_chat_answers_each_line_and_exits_0(fake_env: None) -> None:
    result = runner.invoke(app, ["chat"], input="What did Blinken ask Sudani?\n\n/sources\n/k 2\n"
                                                "What did Blinken ask Sudani?\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("» What did Blinken ask Sudani?") == 2
    assert "Found 3 passages in 1 article" in out and "Found 2 passages in 1 article" in out
    assert "militias" in out and "[1]" in out and "✓" in out
    assert f"id {SEED_ID}" in out


def test_piped_chat_json_prints_one_answer_object_per_question(fake_env: None) -> None:
    result = runner.invoke(app, ["chat", "--json"], input="What did Blinken ask Sudani?\n/k 2\n"
                                                          "Which country does Iraq depend on for electricity?\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(rows) == 2
    assert set(rows[0]) >= {"question", "standalone_question", "answer", "short_answer", "refused", "citations",
                            "passages", "timings", "draft"}
    assert rows[0]["citations"][0]["article_id"] == SEED_ID
    assert len(rows[1]["passages"]) == 2


def test_a_generator_that_cannot_load_is_one_line_with_a_hint(fake_env: None, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("QA_LLM", "openai")  # no server named: fails when the generator loads (an unknown QA_LLM
    # is refused earlier, with the settings: tests/integration/test_cli_boundary.py)
    result = runner.invoke(app, ["chat"], input="What did Blinken ask Sudani?\n")
    assert result.exit_code == 1
    assert "QA_LLM=openai needs a server" in result.output and "QA_OPENAI_BASE_URL" in result.output
    assert "Traceback" not in result.output


# --- verified streaming -------------------------------------------------------------------------------------------

from qa.citations import Evidence, verify
from qa.streaming import SentenceGate

PASSAGES = [Passage(n=1, article_id="seed", chunk_id="c1", score=1.0, title="Blinken in Baghdad", source="Wire",
                    date="2024-12-13", text=TEXT),
            Passage(n=2, article_id="other", chunk_id="c2", score=0.5, title="Markets", source="Daily",
                    date="2024-12-01", text="Oil prices rose on Monday. Traders expect more gains.")]
DRAFT = ("Blinken urged Iraq to curb Iranian-backed militias [1]. He also asked Iraq to stop Iranian arms "
         "transfers to Syria [1]. Oil prices rose by 45 percent [2].\nShort answer: curb militias")


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r"\S+\s*", text)


def test_a_sentence_is_shown_only_once_complete_and_checked_and_a_failed_one_is_withdrawn_with_its_reason() -> None:
    gate = SentenceGate(Evidence(PASSAGES), "What did Blinken ask Iraq?")
    draft, seen = "", []
    for token in _tokens(DRAFT):
        draft += token
        for item in gate.feed(draft):
            seen.append((len(draft), item))
    seen += [(len(draft), item) for item in gate.feed(draft, done=True)]
    kinds = [(item.kind, item.text) for _at, item in seen]
    assert kinds[:2] == [("sentence", "Blinken urged Iraq to curb Iranian-backed militias. [1]"),
                         ("sentence", "He also asked Iraq to stop Iranian arms transfers to Syria. [1]")]
    # each sentence appears once its own text is complete, before the next one is written
    assert seen[0][0] <= DRAFT.index("He also") + len("He ")
    withdrawn = [item for _at, item in seen if item.kind == "withdrawn"]
    assert len(withdrawn) == 1 and withdrawn[0].text.startswith("Oil prices rose")
    assert withdrawn[0].reason  # says why, e.g. the number the passage lacks or "off the question"
    assert all(c.verified for _at, item in seen if item.kind == "sentence" for c in item.citations)


def test_a_checked_answer_never_holds_an_uncited_sentence() -> None:
    text = ("Blinken urged Iraq to curb Iranian-backed militias [1]. The official did not disclose how Sudani "
            "responded to the request.")
    checked = verify(text, Evidence(PASSAGES), question="What did Blinken ask Sudani?")
    assert "did not disclose" not in checked.answer and checked.answer.endswith("[1]")


def test_streamed_sentences_are_the_final_answer_and_come_before_it(tmp_path: Any, fake_env: None) -> None:
    from qa.chain import make_assistant
    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.store import open_store
    from tests.conftest import SEED

    s = Settings()
    ingest([SEED], open_store(s, make_embeddings(s)), s)
    events = list(make_assistant(s).stream("What did Blinken ask Sudani?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "passages" and kinds[-1] == "answer" and "sentence" in kinds
    assert kinds.index("sentence") < len(kinds) - 1
    answer = events[-1].answer
    assert " ".join(e.token for e in events if e.kind == "sentence") == answer.answer
    assert answer.timings["first_sentence_s"] <= answer.timings["total_s"]


def test_a_cancel_stops_the_generator_and_the_stream_raises_cancelled(tmp_path: Any, fake_env: None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from qa.chain import make_assistant
    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.llms import Cancelled, clear_cancel, request_cancel
    from qa.store import open_store
    from tests.conftest import SEED

    monkeypatch.setenv("QA_FAKE_TOKEN_S", "0.5")
    s = Settings()
    ingest([SEED], open_store(s, make_embeddings(s)), s)
    clear_cancel()
    tokens = []
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        for ev in make_assistant(s).stream("What did Blinken ask Sudani?"):
            if ev.kind == "token" and ev.token:
                tokens.append(ev.token)
                threading.Timer(0.05, request_cancel).start()
    clear_cancel()
    assert len(tokens) == 1  # ~25 tokens at 0.5 s each would take 12 s; it stopped at the next one
    assert time.perf_counter() - t0 < 5


def test_ctrl_c_while_streaming_keeps_the_checked_sentences_and_says_so() -> None:
    class Slow(Script):
        def stream(self, question: str, k: int, filters: dict[str, str], standalone: str | None) -> Iterator[Any]:
            self.calls.append((question, k, filters, standalone))
            ans = _answer(question, standalone)
            yield Event("passages", passages=ans.passages)
            yield Event("token", token="He asked Iraq to stop Iranian arms transfers to Syria [1]. More")
            yield Event("sentence", token="He asked Iraq to stop Iranian arms transfers to Syria. [1]",
                     citations=ans.citations, reason="")
            raise KeyboardInterrupt

    code, out = _run(Slow(), ["What did Blinken ask Sudani?", "/quit"], live=True)
    assert code == 0
    assert "He asked Iraq to stop Iranian arms transfers to Syria. [1] ✓" in out
    assert "stopped — the answer was cut short; the 1 checked sentence above stand" in out


# --- follow-ups -----------------------------------------------------------------------------------------------

from qa.followup import pointers, unresolved


@pytest.mark.parametrize(("question", "expected"), [
    ("Why did he go there now?", ["he", "there"]), ("What happened then?", ["then"]),
    ("Did that deal hold?", ["that deal"]), ("Is there a ceasefire in Gaza?", []),
    ("When was that?", ["that"]), ("Who won the 2022 World Cup?", [])])
def test_pointers_are_found_in_follow_ups(question: str, expected: list[str]) -> None:
    assert pointers(question) == expected


def test_a_rewrite_that_keeps_there_is_asked_again_naming_the_word(tmp_path: Any) -> None:
    class Stubborn(Script):
        def complete(self, prompt: str) -> str:
            self.prompts.append(prompt)
            return "Why did Blinken go there now?" if len(self.prompts) == 1 else "Why did Blinken go to Iraq now?"

    script = Stubborn()
    _code, out = _run(script, ["What did Blinken ask Sudani?", "Why did he go there now?"])
    assert len(script.prompts) == 2 and '"there"' in script.prompts[1]
    assert script.calls[1][3] == "Why did Blinken go to Iraq now?"
    assert "Searching for: Why did Blinken go to Iraq now?" in out
    assert unresolved("Why did he go there now?", "Why did Blinken go to Iraq now?") == []


def test_an_unresolved_pointer_is_named_to_the_user() -> None:
    class Stubborn(Script):
        def complete(self, prompt: str) -> str:
            self.prompts.append(prompt)
            return "Why did Blinken go there now?"

    _code, out = _run(Stubborn(), ["What did Blinken ask Sudani?", "Why did he go there now?"])
    assert "could not tell what “there” means here" in out


# --- several lines at once ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("choice", "asked"), [
    ("", ["What did Blinken ask Sudani?", "What did he say about Syria?"]),
    ("o", ["What did Blinken ask Sudani? What did he say about Syria?"]), ("c", [])])
def test_a_pasted_block_asks_once_whether_it_is_one_question_or_several(choice: str, asked: list[str]) -> None:
    script = Script()
    prompts: list[str] = []
    out = io.StringIO()
    feed = iter(["What did Blinken ask Sudani?\nWhat did he say about Syria?\n"])

    def read(_toolbar: Any) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError
        return line

    def confirm(message: str) -> str:
        prompts.append(message)
        return choice

    run_chat(script.backend(), read, Console(file=out, width=100), confirm=confirm)
    assert len(prompts) == 1 and "2 lines" in prompts[0]
    assert [c[0] for c in script.calls] == asked


# --- the conversation kept --------------------------------------------------------------------------------------

def test_save_export_and_continue(tmp_path: Any) -> None:
    from qa.chat import load_conversation

    md, js, auto = tmp_path / "c.md", tmp_path / "c.json", tmp_path / "home" / "chats" / "last.json"
    out = io.StringIO()
    feed = iter(["What did Blinken ask Sudani?", f"/save {md}", f"/export {js}"])

    def read(_toolbar: Any) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError
        return line

    run_chat(Script().backend(), read, Console(file=out, width=100), autosave=auto)
    text = md.read_text()
    assert "## What did Blinken ask Sudani?" in text
    assert "He asked Iraq to stop Iranian arms transfers to Syria [1]." in text
    assert "[1] ✓ “He also asked Iraq to stop Iranian arms transfers to Syria.”" in text
    assert "[Blinken in Baghdad](<https://example.org/b>) — www.france24.com · 2024-12-13" in text
    assert "Saved 1 answer to" in out.getvalue()
    saved = load_conversation(js)
    assert saved["turns"][0]["question"] == "What did Blinken ask Sudani?"
    assert load_conversation(auto)["turns"] == saved["turns"]

    script = Script()
    out2 = io.StringIO()
    feed2 = iter(["What did he want to stop regarding Syria?", "/sources"])

    def read2(_toolbar: Any) -> str:
        line = next(feed2, None)
        if line is None:
            raise EOFError
        return line

    run_chat(script.backend(), read2, Console(file=out2, width=100), resume=saved)
    assert "Continuing the conversation" in out2.getvalue()
    assert "What did Blinken ask Sudani?" in script.prompts[0]  # the follow-up leans on the loaded turn
    assert script.calls[0][3] == "What did Blinken ask Iraq to stop regarding Syria?"


def test_a_file_that_is_not_a_conversation_is_one_line(tmp_path: Any) -> None:
    from qa.chat import load_conversation
    from qa.errors import QAError

    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    with pytest.raises(QAError, match="is not a qa chat conversation"):
        load_conversation(bad)
    result = runner.invoke(app, ["chat", "--load", str(tmp_path / "missing.json")], input="")
    assert result.exit_code == 1 and "Traceback" not in result.output


# --- layout -------------------------------------------------------------------------------------------------

def test_sources_at_60_columns_title_once_quotes_under_it_no_scores() -> None:
    from qa.render import render_citations, render_sources

    title = "Blinken urges Iraq to curb Iranian-backed militias during a long visit to Baghdad"
    cits = [Citation(n=1, article_id="seed", title=title, source="www.france24.com", date="2024-12-13",
                     url="https://f24.example/b", start=0, end=5, verified=True,
                     quote="He asked Iraq to stop Iranian arms transfers to Syria, a long quote that wraps."),
            Citation(n=3, article_id="seed", title=title, source="www.france24.com", date="2024-12-13",
                     url="https://f24.example/b", quote="Iraq still buys electricity from Iran.", start=9, end=20,
                     verified=True)]
    out = io.StringIO()
    con = Console(file=out, width=60, force_terminal=True, color_system=None)
    render_citations(con, cits)
    other = Passage(n=2, article_id="x", chunk_id="x:0", title="Other", source="Wire", date="2024-01-01",
                    score=0.03, text="Other text")
    render_sources(con, Answer("q", "q", "a [1].", "a", False, citations=cits, passages=[other]))
    lines = out.getvalue().splitlines()
    assert all(len(x) <= 60 for x in lines), lines
    assert out.getvalue().count("[1,3] Blinken urges") == 2  # once per listing
    assert "    www.france24.com · 2024-12-13 · https://f24.example/b" in lines  # outlet, date, URL
    assert any(x.startswith("    [3] ✓ “Iraq still buys") for x in lines)
    assert all(x.startswith(" ") for x in lines[1:4])  # wrapped title and quotes stay indented
    assert "score" not in out.getvalue() and "0.03" not in out.getvalue()


def test_one_renderer_for_ask_watch_and_chat_refusals_and_flagged_sources() -> None:
    from qa.render import render_answer

    def shown(answer: Answer, closest: bool = True) -> list[str]:
        out = io.StringIO()
        render_answer(Console(file=out, width=80, color_system=None), answer, closest=closest)
        return out.getvalue().splitlines()

    ans = _answer("What did Blinken ask?", None)
    ans.citations[0].flags = ["imitates the prompt's labels (Short answer:)"]
    lines = shown(ans)
    assert lines[0] == ans.answer and "    www.france24.com · 2024-12-13 · https://example.org/b" in lines
    assert "    ⚑ flagged article: imitates the prompt's labels (Short answer:)" in lines
    refused = Answer("Who won the cup?", "Who won the 2022 World Cup?", "The sources don't say.", "", True,
                     passages=ans.passages)
    lines = shown(refused)  # qa ask, qa watch: what was searched and where it looked
    assert lines[0] == "The sources don't say." and "Searched for: Who won the 2022 World Cup?" in lines
    assert "Closest passages found (none supports an answer):" in lines
    assert "    [1] “He also asked Iraq to stop Iranian arms transfers to Syria.”" in lines
    assert "Closest" not in "".join(shown(refused, closest=False))  # the chat listed them above the answer
    assert "No passages matched." in shown(Answer("q", "q", "The sources don't say.", "", True))


def test_text_from_articles_cannot_drive_the_terminal() -> None:
    script = Script()
    out = io.StringIO()
    feed = iter(["What did Blinken ask Sudani?", "/sources"])

    def read(_toolbar: Any) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError
        return line

    original = script.stream

    def hostile(*args: Any) -> Iterator[Any]:
        for ev in original(*args):
            for p in getattr(ev, "passages", None) or []:
                p.title = "Evil\x1b]0;pwned\x07 title\x1b[2J"
            if ev.kind == "answer":
                ev.answer.citations[0].quote = "quote\x1b[31m red"
                ev.answer.answer = "He asked\x1b[H Iraq [1]."
            yield ev

    backend = script.backend()
    backend.stream = hostile
    run_chat(backend, read, Console(file=out, width=100, force_terminal=True), live=False)
    assert "\x1b]0" not in out.getvalue() and "\x1b[2J" not in out.getvalue() and "\x1b[H" not in out.getvalue()
    assert "Evil title" in out.getvalue()


def test_the_start_line_names_the_index_and_the_models(fake_env: None) -> None:
    from qa.cli_chat import start_line
    from qa.config import Settings
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.store import open_store
    from tests.conftest import SEED

    s = Settings()
    assert "empty index" in start_line(s)
    ingest([SEED], open_store(s, make_embeddings(s)), s)
    line = start_line(Settings(llm="llamacpp", embeddings="minilm"))
    assert "1 article, 5 chunks" in line
    assert "generator qwen2.5-coder-1.5b-instruct-q4_k_m" in line and "embeddings all-MiniLM-L6-v2" in line


def test_there_after_a_verb_of_travel_is_the_place_the_sources_say_was_visited() -> None:
    from qa.followup import resolve_travel

    texts = ["Tensions rose in Syria.", "In summary, Secretary Blinken’s visit to Iraq highlights a pivotal moment.",
             "He arrived in Baghdad on Friday after a visit to Iraq's north."]
    assert resolve_travel("Why did he go there now?", texts) == "Why did he go to Iraq now?"
    assert resolve_travel("What happened there?", texts) == "What happened there?"  # not travel: left to the model
    assert resolve_travel("Why did he go there?", ["Nothing about a trip."]) == "Why did he go there?"


def test_the_follow_up_with_there_searches_the_visited_place() -> None:
    class Echo(Script):
        def complete(self, prompt: str) -> str:
            self.prompts.append(prompt)
            return "Why did Blinken go to Iraq now?" if "go to Iraq" in prompt else "Why did Blinken go to Syria now?"

    script = Echo()
    original = _answer

    def with_visit(question: str, standalone: str | None) -> Any:
        a = original(question, standalone)
        a.passages[0].text += " Blinken's visit to Iraq came at a pivotal moment."
        return a

    globals()["_answer"] = with_visit
    try:
        _code, _out = _run(script, ["What did Blinken ask Sudani?", "Why did he go there now?"])
    finally:
        globals()["_answer"] = original
    assert "Last question: Why did he go to Iraq now?" in script.prompts[0]
    assert script.calls[1][3] == "Why did Blinken go to Iraq now?"


def test_why_shows_what_verification_did_with_each_sentence_of_the_last_answer() -> None:
    from qa.types import Check

    class Why(Script):
        def stream(self, question: str, k: int, filters: dict[str, str], standalone: str | None) -> Iterator[Any]:
            for event in super().stream(question, k, filters, standalone):
                if event.kind == "answer":
                    event.answer.checks = [Check("He asked Iraq to stop arms transfers.", [1], "kept", "supported",
                                                 "supported by [1] 0.81"),
                                           Check("Zorbak agreed at once.", [2], "removed", "names",
                                                 "[2] does not contain the names zorbak")]
                yield event

    _code, out = _run(Why(), ["/why", "Q about Blinken?", "/why"])
    assert "no answer yet — ask a question first" in out
    assert "removed  names" in out and "Zorbak agreed at once." in out and "supported by [1] 0.81" in out


def test_a_ctrl_c_landing_anywhere_between_two_tokens_ends_the_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython runs a signal handler at the main thread's next call boundary, wherever that is: here the cancel
    request is made at each Python call, in turn, of a fake generation's waits between tokens (qa.llms and threading),
    as a Ctrl-C landing there would. Every time the generation ends; none blocks (a lock taken by the request and
    held by the wait for the next token did: `qa ask` then never ended)."""
    import sys
    import threading

    from langchain_core.messages import HumanMessage

    from qa.llms import FakeChat, cancel_requested, clear_cancel, request_cancel

    monkeypatch.setenv("QA_FAKE_TOKEN_S", "0.001")
    llm = FakeChat()
    reply = "one two three four"
    calls = target = 0

    def hook(frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code.co_filename.endswith(("threading.py", "llms.py")):  # the fake's wait
            calls += 1
            if calls == target:
                request_cancel()

    def generate() -> list[str]:
        nonlocal calls
        calls = 0
        clear_cancel()
        llm.enqueue(reply)
        sys.setprofile(hook)
        try:
            return [str(c.content) for c in llm.stream([HumanMessage("q")])]
        finally:
            sys.setprofile(None)

    done: list[tuple[int, str]] = []
    total = 0

    def run() -> None:
        nonlocal target, total
        generate()
        total = calls
        for target in range(1, total + 1):  # every call of a whole generation, in turn
            tokens = generate()
            reached = calls >= target  # (a run may make a few calls fewer than the first: timing)
            done.append((target, "".join(tokens) if cancel_requested() or not reached else "not cancelled"))
        clear_cancel()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert total > 10 and len(done) == total, f"blocked when the cancel came at call {len(done) + 1} of {total}"
    assert all(text != "not cancelled" for _t, text in done)
    assert done[0][1] == ""  # a cancel at the start: nothing generated
