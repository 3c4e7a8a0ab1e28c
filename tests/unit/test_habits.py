"""Issue 19: what users of `llm` and `pqa` expect — completion, help, `qa config`, standard variables, output for
pipes, unread files, remote embedders. The installed `qa` script is run as a subprocess, with fakes."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, json_server

QA = Path(sys.executable).parent / "qa"


def qa(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
       cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "80", **(env or {})}
    return subprocess.run([str(QA), *args], input=stdin, capture_output=True, text=True, timeout=180, env=full,
                          cwd=cwd, check=False)


def article(d: Path, name: str, title: str, body: str, source: str = "Wire", id_: str = "",
            date: str = "2022-03-01", url: str = "") -> None:
    d.mkdir(parents=True, exist_ok=True)
    head = (f"id: {id_}\n" if id_ else "") + (f"url: {url}\n" if url else "")
    (d / name).write_text(f"---\n{head}title: {title}\nsource: {source}\ndate: {date}\n---\n{body}\n")


# Completion and help ----------------------------------------------------------------------------------------------
def test_show_completion_prints_a_script_for_each_shell() -> None:
    # Typer detects the shell qa runs under; with detection off (its test switch) the shell named is used
    for shell, marker in (("bash", "complete -o default -F"), ("zsh", "compdef"), ("fish", "complete --command qa")):
        r = qa("--show-completion", shell, env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
        assert r.returncode == 0, r.stderr
        assert marker in r.stdout and "_QA_COMPLETE" in r.stdout, (shell, r.stdout)


def test_completing_qa_so_yields_sources_in_bash_zsh_and_fish() -> None:
    bash = qa(env={"_QA_COMPLETE": "complete_bash", "COMP_WORDS": "qa so", "COMP_CWORD": "1"})
    assert bash.stdout.split() == ["sources"], bash
    zsh = qa(env={"_QA_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "qa so"})
    assert '"sources"' in zsh.stdout and "setup" not in zsh.stdout, zsh
    fish = qa(env={"_QA_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "qa so",
                   "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert fish.stdout.split("\t")[0] == "sources", fish
    sub = qa(env={"_QA_COMPLETE": "complete_bash", "COMP_WORDS": "qa config ", "COMP_CWORD": "2"})
    assert sub.stdout.split() == ["show", "path"], sub


HELPS = [[], ["setup"], ["ingest"], ["rm"], ["ask"], ["chat"], ["sources"], ["show"], ["eval"], ["config", "show"],
         ["config", "path"]]


@pytest.mark.parametrize("command", HELPS, ids=lambda c: " ".join(c) or "qa")
def test_help_at_80_columns_has_an_example_words_not_types_and_no_cut_names(command: list[str]) -> None:
    r = qa(*command, "--help")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "Example: qa " in text, text
    assert not re.search(r"<(?:str|int|bool|float|Path|list\[)[^>]*>|\{\w+\}", text), text
    assert "…" not in text, text  # no option name or value cut to fit 80 columns
    assert max(len(line) for line in text.splitlines()) <= 80


# qa config show / path, standard variables ------------------------------------------------------------------------
def _rows(r: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    assert r.returncode == 0, r.stderr
    return {row["name"]: row for row in json.loads(r.stdout)}


def test_config_show_names_the_source_of_each_value(tmp_path: Path) -> None:
    cfg = tmp_path / "qa.toml"
    cfg.write_text('k = 5\nretrieval = "bm25"\nopenai_base_url = "http://file.example/v1"\n')
    env = {"QA_RETRIEVAL": "dense", "OPENAI_BASE_URL": "http://std.example/v1", "OLLAMA_HOST": "gpu-box",
           "OPENAI_API_KEY": "sk-very-secret", "QA_CHROMA_URL": "http://me:pw-secret@chroma.lan:8000"}
    r = qa("config", "show", "--json", "--config", str(cfg), "--llm", "fake", env=env)
    rows = _rows(r)
    assert (rows["k"]["value"], rows["k"]["source"], rows["k"]["from"]) == (5, "file", str(cfg))
    assert (rows["retrieval"]["value"], rows["retrieval"]["source"]) == ("dense", "environment")
    assert rows["retrieval"]["from"] == "QA_RETRIEVAL"
    assert (rows["llm"]["value"], rows["llm"]["source"], rows["llm"]["from"]) == ("fake", "flag", "--llm")
    assert (rows["n_ctx"]["value"], rows["n_ctx"]["source"]) == (4096, "default")
    # the config file beats OPENAI_BASE_URL; OLLAMA_HOST fills ollama_base_url (scheme and port added)
    assert rows["openai_base_url"]["value"] == "http://file.example/v1"
    assert (rows["ollama_base_url"]["value"], rows["ollama_base_url"]["from"]) == ("http://gpu-box:11434",
                                                                                   "OLLAMA_HOST")
    assert rows["openai_api_key"]["value"] == "(set)" and rows["openai_api_key"]["from"] == "OPENAI_API_KEY"
    assert "sk-very-secret" not in r.stdout and "pw-secret" not in r.stdout
    assert rows["chroma_url"]["value"] == "http://***@chroma.lan:8000"
    assert all(row["description"] for row in rows.values())
    human = qa("config", "show", "--config", str(cfg), env=env)
    assert re.search(rf"^k += 5  # file {re.escape(str(cfg))}$", human.stdout, re.MULTILINE)
    assert "sk-very-secret" not in human.stdout and "pw-secret" not in human.stdout


def test_standard_variables_fill_in_only_when_qa_does_not_set_them() -> None:
    rows = _rows(qa("config", "show", "--json", env={"OPENAI_BASE_URL": "http://std.example/v1"}))
    assert (rows["openai_base_url"]["value"], rows["openai_base_url"]["source"],
            rows["openai_base_url"]["from"]) == ("http://std.example/v1", "environment", "OPENAI_BASE_URL")
    rows = _rows(qa("config", "show", "--json", env={"OPENAI_BASE_URL": "http://std.example/v1",
                                                      "QA_OPENAI_BASE_URL": "http://qa.example/v1"}))
    assert (rows["openai_base_url"]["value"], rows["openai_base_url"]["from"]) == ("http://qa.example/v1",
                                                                                   "QA_OPENAI_BASE_URL")
    bad = qa("config", "show", env={"OPENAI_BASE_URL": "not a url"})
    assert bad.returncode == 2 and "OPENAI_BASE_URL" in bad.stderr and "Traceback" not in bad.stderr


@given(st.sampled_from(["gpu", "10.0.0.5", "[::1]", "box.lan"]), st.sampled_from(["", ":8080"]),
       st.sampled_from(["", "http://", "https://"]))
@settings(max_examples=40, deadline=None)
def test_ollama_host_in_every_form_becomes_a_url_with_a_port(host: str, port: str, scheme: str) -> None:
    from qa.config import ollama_url

    url = ollama_url(f"{scheme}{host}{port}")
    assert url == f"{scheme or 'http://'}{host}{port or ':11434'}"


def test_config_path_prints_the_file_qa_reads(tmp_path: Path) -> None:
    r = qa("config", "path", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path / "qa" / "qa.toml")
    assert "does not exist" in r.stderr
    named = tmp_path / "mine.toml"
    named.write_text("k = 2\n")
    r = qa("config", "path", env={"QA_CONFIG": str(named)})
    assert r.stdout.strip() == str(named) and r.stderr == ""


def test_readme_settings_table_is_the_generated_one() -> None:
    from qa.settings_doc import section

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert section() in readme, "run `.venv/bin/python -m qa.settings_doc README.md`"


# Pipes ------------------------------------------------------------------------------------------------------------
LONG = ("Secretary Blinken met Prime Minister Sudani in Baghdad on Tuesday and asked him to curb the militias that "
        "attack the forces of the coalition near the airport.")


@pytest.fixture
def indexed(tmp_path: Path, fake_env: None) -> Path:
    d = tmp_path / "news"
    article(d, "a.md", "Talks in Baghdad", LONG, source="www.france24.com")
    article(d, "b.md", "Budget", "The senate passed the budget with sixty votes after a long debate.",
            source="Reuters", id_="x" * 130)
    article(d, "c.md", "Rain", "Heavy rain flooded the valley and closed the roads for a week.", source="AP News")
    r = qa("ingest", str(d))
    assert r.returncode == 0, r.stderr
    return d


def test_ask_prints_each_source_with_title_outlet_date_url_and_quoted_words(tmp_path: Path, fake_env: None) -> None:
    article(tmp_path / "news", "a.md", "Talks in Baghdad", LONG, source="www.france24.com",
            url="https://www.france24.com/en/talks")
    assert qa("ingest", str(tmp_path / "news")).returncode == 0
    r = qa("ask", "What did Blinken ask Sudani in Baghdad?")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(x.startswith("[1") and "Talks in Baghdad" in x for x in lines), r.stdout
    assert "    www.france24.com · 2022-03-01 · https://www.france24.com/en/talks" in lines, r.stdout
    assert any(re.match(r"    \[\d\] [✓?] “.+”$", x) for x in lines), r.stdout  # the quoted words


def test_piped_answer_is_not_hard_wrapped(indexed: Path) -> None:
    r = qa("ask", "What did Blinken ask Sudani in Baghdad?")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(len(line) > 100 for line in lines), r.stdout  # the long sentence stays one line
    assert all(line == line.rstrip() for line in lines), r.stdout  # no padding to a width


def test_question_from_stdin_with_dash(indexed: Path) -> None:
    r = qa("ask", "-", "--json", stdin="What did Blinken ask Sudani in Baghdad?\n")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["question"] == "What did Blinken ask Sudani in Baghdad?"
    empty = qa("ask", "-", stdin="")
    assert empty.returncode == 2 and len(empty.stderr.splitlines()) == 2, empty.stderr


def test_sources_never_cut_ids_piped_and_ids_lists_one_a_line(indexed: Path) -> None:
    r = qa("sources")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert ["x" * 130, "Budget", "Reuters", "2022-03-01", "1"] in rows
    ids = qa("sources", "--ids")
    assert sorted(ids.stdout.splitlines()) == sorted(["a", "c", "x" * 130])


def test_sources_in_a_narrow_terminal_keeps_the_whole_id(indexed: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(str(QA), ["sources"], dimensions=(40, 80), encoding="utf-8", timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    child.expect(pexpect.EOF)
    assert "x" * 130 in child.before.replace("\r\n", "")


def test_unknown_source_lists_the_outlets_closest_first(indexed: Path) -> None:
    r = qa("ask", "What did Blinken ask?", "--source", "france24")
    assert r.returncode == 2, r
    first = r.stderr.splitlines()[0]
    assert "'france24' is not an outlet" in first
    assert first.index("'www.france24.com'") < first.index("'Reuters'")
    assert len(r.stderr.splitlines()) == 2 and "Traceback" not in r.stderr
    ok = qa("ask", "What did Blinken ask Sudani in Baghdad?", "--source", "www.france24.com", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["citations"], ok.stderr


# Files ingest does not read -----------------------------------------------------------------------------------------
def test_unread_files_are_counted_once_per_suffix_and_exit_3(tmp_path: Path, fake_env: None) -> None:
    d = tmp_path / "mixed"
    article(d, "a.md", "One", "Blinken met Sudani in Baghdad.")
    for i in range(12):
        (d / "reports").mkdir(exist_ok=True)
        (d / "reports" / f"r{i}.pdf").write_bytes(b"%PDF-1.4")
    (d / "data.json").write_text("{}")
    (d / ".hidden.pdf").write_bytes(b"x")  # hidden files are not counted
    r = qa("ingest", str(d))
    assert r.returncode == 3, r.stderr
    lines = r.stderr.splitlines()
    assert sum("not read" in line for line in lines) == 3  # two suffixes + the summary
    pdf = next(line for line in lines if ".pdf files" in line)
    assert pdf.startswith("12 .pdf files not read: qa reads .md"), pdf
    assert next(line for line in lines if ".json" in line).startswith("1 .json file not read")
    assert "1 added" in lines[-1] and "13 not read" in lines[-1]


def test_only_article_files_exit_0(tmp_path: Path, fake_env: None) -> None:
    d = tmp_path / "clean"
    article(d, "a.md", "One", "Blinken met Sudani in Baghdad.")
    r = qa("ingest", str(d))
    assert r.returncode == 0 and "not read" not in r.stderr, r.stderr


# Remote embeddings: errors and batching against small local HTTP servers (the real server is in integration) ------
def _handler(status: int = 200, body: object = None, seen: list[int] | None = None):  # type: ignore[no-untyped-def]
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if seen is not None:
                seen.append(len(req["input"]))
            out = body if body is not None else {"data": [{"index": i, "embedding": [float(len(t)), 1.0, 0.5]}
                                                          for i, t in enumerate(req["input"])]}
            data = json.dumps(out).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
    return H


def _remote(url: str, **kw: object):  # type: ignore[no-untyped-def]
    from qa.config import Settings
    from qa.embedding import make_embeddings

    return make_embeddings(Settings(embeddings="openai", embed_base_url=url, embed_model="m", **kw))


def test_remote_batches_keep_order_and_size() -> None:
    seen: list[int] = []
    with json_server(_handler(seen=seen)) as url:
        texts = [f"text number {'x' * i}" for i in range(37)]
        vectors = _remote(url + "/v1", embed_batch_size=8, embed_concurrency=3).embed_documents(texts)
    assert sorted(seen) == [5, 8, 8, 8, 8]
    assert len(vectors) == 37
    lengths = [v[0] / (v[0] ** 2 + 1.25) ** 0.5 for v in vectors]  # unit vectors, in the order of the texts
    assert lengths == sorted(lengths)


@pytest.mark.parametrize(("status", "body", "words"), [
    (401, {"error": "no"}, ["rejected the API key", "QA_OPENAI_API_KEY_ENV"]),
    (404, {"error": "no"}, ["does not know the model 'm'", "QA_EMBED_MODEL"]),
    (500, {"error": "boom"}, ["answered HTTP 500", "QA_EMBED_BASE_URL"]),
    (200, {"data": "nonsense"}, ["did not answer with embeddings", "QA_EMBED_BASE_URL"]),
])
def test_remote_server_failures_are_one_line_naming_url_and_setting(status: int, body: object,
                                                                      words: list[str]) -> None:
    from qa.errors import QAError

    with json_server(_handler(status, body)) as url, pytest.raises(QAError) as e:
        _remote(url + "/v1").embed_documents(["a", "b"])
    line = f"{e.value.message} {e.value.hint}"
    assert f"{url}/v1/embeddings" in line and all(w in line for w in words), line
    assert "\n" not in line


def test_remote_refused_and_silent_servers_through_the_cli(indexed: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    env = {"QA_EMBEDDINGS": "openai", "QA_EMBED_MODEL": "m", "QA_HOME": str(tmp_path / "remote-home"),
           "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    r = qa("ingest", str(indexed), env=env)
    assert r.returncode == 1, r
    assert f"Cannot connect to the openai embedding server at http://127.0.0.1:{port}/v1/embeddings" in r.stderr
    assert "OPENAI_BASE_URL" in r.stderr and "Traceback" not in r.stderr
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        env.update(OPENAI_BASE_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/v1", QA_EMBED_TIMEOUT_S="1")
        r = qa("ingest", str(indexed), env=env)
    finally:
        silent.close()
    assert r.returncode == 1 and "within 1 s" in r.stderr and "QA_EMBED_TIMEOUT_S" in r.stderr, r.stderr


def test_switching_embedders_without_rebuild_is_refused_in_one_line(indexed: Path) -> None:
    with json_server(_handler()) as url:
        r = qa("ask", "What did Blinken ask?", env={"QA_EMBEDDINGS": "openai", "QA_EMBED_MODEL": "other-model",
                                                    "QA_EMBED_BASE_URL": url + "/v1"})
    assert r.returncode == 1, r
    assert "built with another embedding model: 'fake'" in r.stderr and "'other-model'" in r.stderr
    assert "qa ingest --rebuild" in r.stderr and len(r.stderr.splitlines()) == 2
    again = qa("ask", "What did Blinken ask Sudani in Baghdad?")  # the embedder that built it still works
    assert again.returncode == 0, again.stderr
