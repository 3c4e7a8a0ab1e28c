"""The CLI boundary, attacked through the installed console script (`.venv/bin/qa` as a subprocess, never `app`):
usage errors, invalid settings, config files, unexpected exceptions, hostile text on the terminal, credentials
in URLs, and `qa eval --out`. Fake embeddings and generator (QA_EMBEDDINGS=fake, QA_LLM=fake) keep each run to
seconds; what is tested here is what the user sees: the lines printed and the exit status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from qa.terminal import clean, one_line
from tests.hostile import TERMINAL_ATTACKS
from tests.integration.test_chat_pty import _ctrl_c_default

pytestmark = pytest.mark.integration

QA = Path(sys.executable).parent / "qa"
ATTACKS = [
    *TERMINAL_ATTACKS,
    "[bold red]markup[/] [/oops]",                    # rich markup that would style, or crash, the table
    "<script>alert(1)</script>",                      # HTML, for the reports
    "[link](javascript:alert(1)) | cell",             # Markdown, for report.md
]
FAST = settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def run(*args: str, home: Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `qa` with fake backends, an empty config directory and `home` as QA_HOME."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    base.update(QA_HOME=str(home), QA_EMBEDDINGS="fake", QA_LLM="fake", XDG_CONFIG_HOME=str(home.parent / "xdg"),
                COLUMNS="200", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    base.update(env)
    return subprocess.run([str(QA), *args], check=False, capture_output=True, text=True, env=base, cwd=cwd or home.parent,
                          timeout=300, errors="surrogateescape")


def controls(text: str) -> list[str]:
    """Control characters a terminal would act on (newline and tab are fine)."""
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"]


def one_error(r: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The run failed with `code` and said so in one `error:` line (and at most one `hint:` line)."""
    lines = [x for x in r.stderr.splitlines() if not x.startswith("note:")]
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and lines and lines[0].startswith("error: "), r.stderr
    assert len(lines) <= 2 and all(x.startswith("hint: ") for x in lines[1:]), r.stderr
    assert not controls(r.stderr), r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# Usage errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "says"), [
    ([], "Missing command."),
    (["ask"], "Missing argument 'QUESTION'."),
    (["ask", "What", "did", "Blinken", "ask"], "unexpected extra argument"),
    (["sources", "--bogus"], "No such option: --bogus"),
    (["--bogus"], "No such option: --bogus"),
    (["bogus"], "No such command 'bogus'."),
    (["eval"], "Missing command."),
    (["sources", "--home"], "Option '--home' requires an argument."),
    (["ask", "q", "-k", "abc"], "Invalid value for '-k'"),
    (["ask", "q", "-k", "0"], "at least 1"),
    (["ask", "q", "-k", "60"], "16 of 120 word-pieces fit"),
    (["ask", "q", "--as-of", "0001-01-01"], "out of range"),
    (["ask", "q", "--until", "9999-12-31"], "out of range"),
    (["ask", "q", "--since", "2022-02-30"], "is not a date"),
    (["eval", "compare", "only-one"], "Missing argument 'RUN_B'."),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    one_error(run(*args, home=tmp_path / "home"), 2, says)


def test_ctrl_c_while_qa_is_still_loading_is_quiet(tmp_path: Path) -> None:
    """Ctrl-C at any moment after Python itself has started (its own start-up, `site` included, is not qa's to
    guard) through the first second, most of it spent importing Typer and rich: exit 130, never a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_HOME=str(tmp_path / "home"), QA_EMBEDDINGS="fake", QA_LLM="fake", XDG_CONFIG_HOME=str(tmp_path))
    started = []
    for _ in range(3):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        started.append(time.monotonic() - t)
    floor = 3 * max(started)  # a margin for a loaded machine: the script also reads its .pth files
    for delay in (0.0, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8):
        p = subprocess.Popen([str(QA), "ask", "What happened?"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, preexec_fn=_ctrl_c_default)  # noqa: PLW1509 (no threads here)
        time.sleep(floor + delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
        assert "Traceback" not in err and p.returncode == 130, (floor + delay, p.returncode, err[-600:])


def test_version_and_global_options_after_the_command(tmp_path: Path) -> None:
    r = run("--version", home=tmp_path / "home")
    assert r.returncode == 0 and r.stdout.startswith("qa ") and len(r.stdout.splitlines()) == 1
    other = tmp_path / "other-home"
    r = run("sources", "--home", str(other), "--json", home=tmp_path / "home")
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stderr
    assert other.is_dir() and not (tmp_path / "home").exists()  # --home after the command was used


# Settings ----------------------------------------------------------------------------------------------------
def _text(alphabet: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    chars = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))  # the environment holds no NUL
    return st.text(chars, min_size=1, max_size=30).filter(lambda s: s.strip() == s and s != "")


BAD = {  # setting -> values it must refuse
    "k": st.one_of(st.integers(max_value=0), st.integers(min_value=17, max_value=10**9), _text().filter(
        lambda s: not s.lstrip("+-").isdigit())),
    "rrf_k": st.one_of(st.integers(max_value=0), st.sampled_from(["abc", "1.5", "-0"])),
    "mmr_lambda": st.one_of(st.floats(max_value=-0.001), st.floats(min_value=1.001, exclude_max=False),
                            st.sampled_from(["nan", "x"])),
    "retrieval": _text().filter(lambda s: s not in ("hybrid", "dense", "bm25")),
    "llm": _text().filter(lambda s: s not in ("llamacpp", "openai", "ollama", "fake")),
    "min_evidence": st.sampled_from(["-0.1", "1.5", "nan", "inf", "high"]),
    "n_ctx": st.integers(max_value=511),
    "n_threads": st.integers(max_value=0),
    "temperature": st.sampled_from(["-1", "3", "hot"]),
    "llm_timeout_s": st.sampled_from(["0", "-5", "inf", "soon"]),
    "chroma_url": _text().filter(lambda s: not s.startswith(("http://", "https://"))),
    "recent_days": st.sampled_from(["0", "-1", "10000000000"]),
    "verify": st.sampled_from(["maybe", "2", "yes please"]),
}


@FAST
@given(data=st.data())
def test_an_invalid_setting_is_one_line_naming_it(tmp_path_factory: pytest.TempPathFactory,
                                                 data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(BAD)))
    value = str(data.draw(BAD[name]))
    home = tmp_path_factory.mktemp("bad") / "home"
    line = one_error(run("sources", home=home, **{f"QA_{name.upper()}": value}), 2, f"QA_{name.upper()}=")
    assert "should be" in line or "do not fit" in line, line
    assert not home.exists()  # refused before anything was touched


def test_config_file_is_read_only_from_where_the_user_put_it(tmp_path: Path) -> None:
    home, xdg = tmp_path / "home", tmp_path / "xdg" / "qa"
    xdg.mkdir(parents=True)
    # the user's config directory: read; `~` is the home folder
    (xdg / "qa.toml").write_text('home = "~/from-user-config"\n')
    fake_home = tmp_path / "user"
    r = subprocess.run([str(QA), "sources", "--json"], check=False, capture_output=True, text=True, cwd=tmp_path, env={
        **{k: v for k, v in os.environ.items() if not k.startswith("QA_")}, "HOME": str(fake_home),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "QA_EMBEDDINGS": "fake", "QA_LLM": "fake"})
    assert r.returncode == 0, r.stderr
    assert (fake_home / "from-user-config").is_dir() and not (tmp_path / "~").exists()
    (xdg / "qa.toml").unlink()

    # a qa.toml in the current folder (a downloaded corpus, say) is not read; a notice says so
    (tmp_path / "qa.toml").write_text('openai_base_url = "http://attacker.example/v1"\nk = 999\n')
    r = run("sources", "--json", home=home, cwd=tmp_path)
    assert r.returncode == 0 and "note:" in r.stderr and "is not read" in r.stderr, r.stderr
    # named with --config (or QA_CONFIG), it is read, and its bad value is named with the file
    line = one_error(run("--config", "qa.toml", "sources", home=home, cwd=tmp_path), 2, "k = 999", "qa.toml")
    assert "do not fit" in line

    # unknown keys are errors naming the closest valid one; broken TOML names the line
    (tmp_path / "typo.toml").write_text('retreival = "bm25"\n')
    one_error(run("sources", home=home, QA_CONFIG=str(tmp_path / "typo.toml")), 2, "Unknown setting 'retreival'")
    assert "did you mean 'retrieval'?" in run("sources", home=home, QA_CONFIG=str(tmp_path / "typo.toml")).stderr
    (tmp_path / "broken.toml").write_text('k = \n')
    one_error(run("sources", home=home, QA_CONFIG=str(tmp_path / "broken.toml")), 2, "not valid TOML", "line 1")
    one_error(run("sources", home=home, QA_CONFIG=str(tmp_path / "missing.toml")), 2, "does not exist")


# Unexpected exceptions ---------------------------------------------------------------------------------------
def test_an_unexpected_exception_is_one_line_and_qa_debug_shows_it(tmp_path: Path) -> None:
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(  # a fault injected where `qa sources` opens the store
        "import qa.store\n"
        "def broken(*a, **k):\n"
        "    raise RuntimeError('disk on fire \\x1b]0;pwned\\x07 at http://user:secret@db.example/')\n"
        "qa.store.open_store = broken\n")
    r = run("sources", home=tmp_path / "home", PYTHONPATH=str(inject))
    line = one_error(r, 1, "Unexpected RuntimeError: disk on fire")
    assert "secret" not in r.stderr and "QA_DEBUG=1" in r.stderr, r.stderr
    r = run("sources", home=tmp_path / "home", PYTHONPATH=str(inject), QA_DEBUG="1")
    assert r.returncode == 1 and "Traceback" in r.stderr and "RuntimeError" in r.stderr
    assert line


# Hostile text on the terminal --------------------------------------------------------------------------------
hostile = st.lists(st.sampled_from(ATTACKS) | st.text(st.characters(exclude_categories=("Cs",),
                                                                    exclude_characters="\x00"), max_size=8),
                   min_size=1, max_size=5).map("".join)


def _article(title: str, source: str, body: str, i: int) -> str:
    meta = yaml.safe_dump({"id": f"a{i}", "title": f"Blinken {title}", "source": source, "date": "2022-03-01",
                           "url": f"https://example.org/{i}"}, allow_unicode=False)
    return f"---\n{meta}---\nBlinken met Sudani in Baghdad about militias {body}. The talks went on.\n"


@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=st.lists(st.tuples(hostile, hostile, hostile), min_size=1, max_size=3))
@example(texts=[("".join(ATTACKS), "".join(ATTACKS[::-1]), "".join(ATTACKS))])  # every attack, always
def test_text_from_articles_never_drives_the_terminal(tmp_path_factory: pytest.TempPathFactory,
                                                      texts: list[tuple[str, str, str]]) -> None:
    root = tmp_path_factory.mktemp("hostile")
    home, corpus = root / "home", root / "corpus"
    corpus.mkdir()
    for i, (title, source, body) in enumerate(texts):
        (corpus / f"a{i}.md").write_text(_article(title, source, body, i), encoding="utf-8", errors="surrogatepass")
    r = run("ingest", str(corpus), home=home)
    assert r.returncode in (0, 3), r.stderr
    listed = run("sources", "--json", home=home)
    rows = json.loads(listed.stdout)
    assert not controls(listed.stdout)
    table = run("sources", home=home)
    assert table.returncode == 0 and not controls(table.stdout + table.stderr), table.stdout
    for row in rows:
        shown = run("show", row["id"], home=home)
        assert shown.returncode == 0 and not controls(shown.stdout), shown.stdout
        exact = json.loads(run("show", row["id"], "--json", home=home).stdout)
        # the terminal shows exactly the stored text, minus what could drive it
        assert shown.stdout.splitlines()[0] == one_line(exact["title"])
        assert clean(exact["text"]).strip() in shown.stdout
    asked = run("ask", "What did Blinken ask Sudani about militias?", home=home)
    assert asked.returncode == 0 and not controls(asked.stdout + asked.stderr), asked.stdout
    as_json = run("ask", "What did Blinken ask Sudani about militias?", "--json", home=home)
    assert not controls(as_json.stdout) and json.loads(as_json.stdout)["question"]


@settings(max_examples=2, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ids=st.lists(hostile, min_size=2, max_size=4), question=hostile)
@example(ids=ATTACKS[:6], question="".join(ATTACKS))
def test_text_from_question_sets_never_drives_the_terminal_or_the_reports(
        tmp_path_factory: pytest.TempPathFactory, ids: list[str], question: str) -> None:
    root = tmp_path_factory.mktemp("qset")
    home, corpus = root / "home", root / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(_article("meets Sudani", "State", "", 0))
    lines = [json.dumps({"id": f"q{i} {x}", "question": f"What did Blinken ask Sudani? {question}", "answerable": True,
                         "sources": [f"gone {x}"]}) for i, x in enumerate(ids)]
    lines.append("not json \x1b]0;pwned\x07 <script>")
    qfile = root / "questions \x1b]0;evil\x07.jsonl"  # the file name is hostile too
    qfile.write_text("\n".join(lines) + "\n")
    out = root / "run"
    r = run("eval", str(qfile), "--corpus", str(corpus), "--retrieval-only", "--out", str(out), home=home)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stderr and "warning" in r.stderr  # the bad line and the unknown sources are reported
    assert not controls(r.stdout + r.stderr), (r.stdout, r.stderr)
    md = (out / "report.md").read_text()
    assert "<script>" not in md and "[link](javascript" not in md and not controls(md)
    html = (out / "report.html").read_text()
    from qa.eval_report import SCRIPT

    # the report's one script is its own (sorting and filtering); the question file's <script> is text
    assert html.count("<script") == 1 and f"<script>{SCRIPT}</script>" in html and not controls(html)
    compared = run("eval", "compare", str(out), str(out), home=home)
    assert compared.returncode == 0 and not controls(compared.stdout)


def _one_question_run(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(home, corpus, question file): one article and one question about it, for the `qa eval` tests."""
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(_article("meets Sudani", "State", "", 0))
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"id": "q1", "question": "What did Blinken ask Sudani?", "answerable": True,
                                 "sources": ["a0"]}) + "\n")
    return home, corpus, qfile


# Credentials -------------------------------------------------------------------------------------------------
def test_credentials_in_urls_are_never_written_or_printed(tmp_path: Path) -> None:
    home, corpus, qfile = _one_question_run(tmp_path)
    secrets = {"QA_OPENAI_BASE_URL": "http://alice:s3cret-pw@llm.example:8000/v1?api_key=s3cret-key",
               "QA_OLLAMA_BASE_URL": "https://bob:s3cret-pw2@ollama.example"}
    out = tmp_path / "run"
    r = run("eval", str(qfile), "--corpus", str(corpus), "--retrieval-only", "--out", str(out), home=home, **secrets)
    assert r.returncode == 0, r.stderr
    written = "".join(p.read_text() for p in out.iterdir())
    assert "llm.example" in written and "s3cret" not in written + r.stdout + r.stderr
    r = run("sources", home=home, QA_CHROMA_URL="http://alice:s3cret@127.0.0.1:9")
    line = one_error(r, 1, "127.0.0.1:9")
    assert "s3cret" not in r.stderr and "***" in line


# qa eval --out -----------------------------------------------------------------------------------------------
def test_eval_out_never_touches_files_it_did_not_write(tmp_path: Path) -> None:
    home, corpus, qfile = _one_question_run(tmp_path)
    ask = ("eval", str(qfile), "--corpus", str(corpus), "--retrieval-only", "--out")

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes")
    (mine / "results.tmp").write_text("my scratch")
    one_error(run(*ask, str(mine), home=home), 2, "not a qa run", "report.md")
    one_error(run(*ask, str(mine), "--force", home=home), 2, "report.md")  # --force never overwrites it
    (mine / "report.md").rename(mine / "notes.md")
    one_error(run(*ask, str(mine), home=home), 2, "not empty", "notes.md", "results.tmp")
    r = run(*ask, str(mine), "--force", home=home)
    assert r.returncode == 0, r.stderr
    assert (mine / "notes.md").read_text() == "my notes" and (mine / "results.tmp").read_text() == "my scratch"
    assert (mine / "summary.json").is_file() and not list(mine.glob(".*.tmp"))
    r = run(*ask, str(mine), home=home)  # a qa run now: re-running resumes into it
    assert r.returncode == 0, r.stderr

    afile = tmp_path / "a-file"
    afile.write_text("x")
    one_error(run(*ask, str(afile), home=home), 2, "is a file")
    assert afile.read_text() == "x"


def test_a_full_disk_is_one_line_without_a_bug_report(tmp_path: Path) -> None:
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        "import qa.store\n"
        "def full(*a, **k):\n"
        "    raise OSError(28, 'No space left on device', '/data/qa/chroma')\n"
        "qa.store.open_store = full\n")
    r = run("sources", home=tmp_path / "home", PYTHONPATH=str(inject))
    one_error(r, 1, "No space left on device: /data/qa/chroma")
    assert "free some space" in r.stderr and "bug" not in r.stderr


def _not_a_day_in_range(value: str) -> bool:
    from datetime import date

    try:
        return not date(1800, 1, 1) <= date.fromisoformat(value.strip()[:10]) <= date(2199, 12, 31)
    except ValueError:
        return True


@FAST
@given(option=st.sampled_from(["--since", "--until", "--as-of"]),
       value=st.one_of(st.dates().map(str), st.text(st.characters(exclude_characters="\x00",
                                                                  exclude_categories=("Cs",)), min_size=1))
       .filter(lambda v: _not_a_day_in_range(v) and not v.startswith("-")))
def test_a_bad_day_on_the_command_line_is_one_line(tmp_path_factory: pytest.TempPathFactory, option: str,
                                                    value: str) -> None:
    home = tmp_path_factory.mktemp("day") / "home"
    one_error(run("ask", "What did Blinken ask?", option, value, home=home), 2, option)
    assert not home.exists()
