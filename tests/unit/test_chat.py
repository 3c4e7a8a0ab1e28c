"""The chat loop with scripted backends (lambdas) and, through the CLI, with the fake backends users can select."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from types import SimpleNamespace as NS
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from qa.chat import ChatBackend, Turn, clean_rewrite, needs_rewrite, rewrite_prompt, run_chat
from qa.cli import app

SEED_ID = "france24-blinken-iraq-militias"
TEXT = ("Blinken urged Iraq to curb Iranian-backed militias. He also asked Iraq to stop Iranian arms transfers to "
        "Syria. Iraq still buys electricity from Iran.")
runner = CliRunner()


def _answer(question: str, standalone: str | None) -> Any:
    cit = NS(n=1, article_id="seed", title="Blinken in Baghdad", source="www.france24.com", date="2024-12-13",
             url="https://example.org/b", quote=TEXT[52:111], start=52, end=111, verified=True)
    passages = [NS(n=1, article_id="seed", title="Blinken in Baghdad", source="www.france24.com",
                   date="2024-12-13", start=52, end=111, score=0.8, text=TEXT[52:111]),
                NS(n=2, article_id="power", title="Iraq power", source="Wire", date="2024-11-01", start=0,
                   end=10, score=0.5, text="Iraq power")]
    return NS(question=question, standalone_question=standalone or question, refused=False,
              answer="He asked Iraq to stop Iranian arms transfers to Syria [1].", short_answer="arms transfers",
              citations=[cit], passages=passages, timings={},
              to_dict=lambda: {"question": question, "standalone_question": standalone or question})


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
        yield NS(kind="passages", passages=ans.passages)
        try:
            yield NS(kind="token", token="He asked ")
            if self.interrupt_next:
                self.interrupt_next = False
                raise KeyboardInterrupt
            yield NS(kind="token", token="Iraq…")
            yield NS(kind="answer", answer=ans)
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
                           article=lambda i: NS(id=i, title="Blinken in Baghdad", source="www.france24.com",
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
    found = out.index("Found 2 passages from 2 articles:")
    answer = out.index("He asked Iraq to stop Iranian arms transfers to Syria [1].")
    quote = out.index("“He also asked Iraq to stop Iranian arms transfers to Syria.”")
    assert found < answer < quote
    assert "Blinken in Baghdad — www.france24.com · 2024-12-13" in out and "Iraq power — Wire" in out


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


def test_bad_commands_say_what_to_do_and_change_nothing() -> None:
    script = Script()
    code, out = _run(script, ["/filter since=last-week", "/k many", "/open 1", "/sources", "/frobnicate",
                              "Q about Blinken?"])
    assert code == 0
    assert "'last-week' is not a date — write dates as YYYY-MM-DD" in out
    assert "/k needs a number of passages from 1 to 20" in out
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
    assert "Found 3 passages from 1 article" in out and "Found 2 passages from 1 article" in out
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
