"""Bad input, interrupted writes, a held lock and a damaged index: what a user sees, and what is stored after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.config import Settings
from qa.embedding import make_embeddings
from qa.ingest import ingest
from qa.store import Store, open_store
from tests.conftest import ROOT, SEED

runner = CliRunner()
GOOD = "---\nid: {id}\ntitle: {title}\n---\n{body}\n"
SEED_ID = "france24-blinken-iraq-militias"


def qa(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a user runs it (errors go through `main`, which CliRunner skips)."""
    return subprocess.run([sys.executable, "-m", "qa", *args], check=False, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=os.environ.copy())


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging forever if a read blocks (a FIFO opened for reading waits for a writer)."""
    def hung(_sig: int, _frame: object) -> None:
        raise TimeoutError("ingest hung on a bad file")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def messy_folder(d: Path) -> dict[str, str]:
    """Every kind of bad file from issue 8 beside good ones; returns file name -> expected reason words."""
    d.mkdir()
    (d / "good.md").write_text(GOOD.format(id="good", title="Wheat", body="Ukraine exported wheat. Prices fell."))
    (d / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    (d / "control.txt").write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 65]) * 500)  # binary without NULs
    (d / "empty.txt").write_bytes(b"")
    (d / "latin1.txt").write_bytes("Café au lait in Bogotá. Señor Núñez agreed.".encode("latin-1"))
    (d / "utf16.txt").write_bytes("Kyiv talks resumed. Both sides met.".encode("utf-16"))  # BOM + UTF-16-LE
    (d / "big.txt").write_text("A sentence that repeats. " * 2_000_000)  # 50 MB
    (d / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.")
    (d / "list.md").write_text("---\n- a\n- b\n---\nText.")
    (d / "dup-a.md").write_text(GOOD.format(id="same", title="First", body="The first of two files."))
    (d / "dup-b.md").write_text(GOOD.format(id="same", title="Second", body="The second of two files."))
    (d / "loop").mkdir()
    (d / "loop" / "back").symlink_to("..", target_is_directory=True)
    (d / "self.md").symlink_to("self.md")
    (d / "dangling.md").symlink_to(d / "nowhere.md")
    os.mkfifo(d / "fifo.txt")
    (d / "secret.md").write_text("Locked away.")
    (d / "page.html").write_text(
        "<html><head><title>Port reopens</title><script>var TRACKER = 1;</script><style>.x{}</style></head><body>"
        "<nav><ul><li>Home</li><li>World</li></ul></nav><header>SITE HEADER</header>"
        "<script>document.write('AD BANNER')</script><aside>Most read: CELEBRITY</aside>"
        "<article><h1>Port reopens</h1><p>The port of Odesa reopened on Monday.</p>"
        "<script>inline()</script><p>Ships left with grain.</p></article>"
        "<footer>Cookie policy</footer><noscript>Enable JS</noscript></body></html>")
    (d / "scripts-only.html").write_text("<html><head><script>x()</script></head><body><nav>Home</nav>"
                                         "<script>y()</script></body></html>")
    return {"binary.md": "binary", "control.txt": "binary", "empty.txt": "no text", "big.txt": "too large",
            "broken.md": "not valid YAML (line 2)", "list.md": "not a mapping",
            "dup-b.md": "already used by", "back": "symlink loop", "self.md": "Too many levels of symbolic links",
            "dangling.md": "No such file", "fifo.txt": "not a regular file", "secret.md": "permission denied",
            "scripts-only.html": "no text"}


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, where chmod 000 does not stop a read: make opening `secret.md` fail as it would."""
    real_open = Path.open

    def guarded(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name == "secret.md" and "r" in (args[0] if args else kwargs.get("mode", "r")):
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)


def test_each_bad_file_is_one_line_naming_it_and_the_rest_is_ingested(
        tmp_path: Path, fake_env: None, unreadable: None, alarm: None) -> None:
    d = tmp_path / "messy"
    expected = messy_folder(d)
    result = runner.invoke(app, ["ingest", str(d)])
    assert result.exit_code == 3, result.output  # documented: some files skipped, the rest ingested
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("skipped ")]
    for name, reason in expected.items():
        mine = [ln for ln in lines if ln.split(": ", 1)[0].endswith("/" + name)]
        assert len(mine) == 1 and reason in mine[0], (name, lines)
    assert len(lines) == len(expected)
    assert "Traceback" not in result.output
    assert f"5 added, 0 updated, 0 unchanged, {len(expected)} skipped" in result.stderr

    store = open_store(Settings())
    rows = {r["id"]: r for r in store.list_articles()}
    assert set(rows) == {"good", "latin1", "utf16", "same", "page"}
    assert store.get_article("same").title == "First"  # type: ignore[union-attr]
    assert store.get_article("latin1").text == "Café au lait in Bogotá. Señor Núñez agreed."  # type: ignore[union-attr]
    utf16 = store.get_article("utf16")
    assert utf16 is not None and utf16.text == "Kyiv talks resumed. Both sides met." and utf16.title[0] == "K"
    page = store.get_article("page")
    assert page is not None and page.text == "Port reopens\n\nThe port of Odesa reopened on Monday.\n\nShips left with grain."
    assert store.count_chunks() == sum(r["chunks"] for r in rows.values())


def test_rerun_reports_the_same_files_and_changes_nothing(tmp_path: Path, fake_env: None, alarm: None) -> None:
    d = tmp_path / "messy"
    expected = messy_folder(d)
    (d / "secret.md").unlink()
    del expected["secret.md"]
    first = runner.invoke(app, ["ingest", str(d)])
    chunks = open_store(Settings()).count_chunks()
    again = runner.invoke(app, ["ingest", str(d)])
    assert (first.exit_code, again.exit_code) == (3, 3)
    assert f"0 added, 0 updated, 5 unchanged, {len(expected)} skipped" in again.stderr
    assert open_store(Settings()).count_chunks() == chunks


def test_exit_status_is_0_when_nothing_was_skipped(tmp_path: Path, fake_env: None) -> None:
    result = runner.invoke(app, ["ingest", str(SEED)])
    assert result.exit_code == 0 and "1 added" in result.stderr


def test_a_file_named_like_rich_markup_is_reported_verbatim(tmp_path: Path, fake_env: None) -> None:
    d = tmp_path / "news"
    d.mkdir()
    (d / "[bold]draft.txt").write_text("")
    result = runner.invoke(app, ["ingest", str(d)])
    assert result.exit_code == 3
    assert "[bold]draft.txt: no text in the file" in result.stderr


def test_front_matter_author_list_is_joined_and_nested_values_are_a_warning(tmp_path: Path, fake_env: None) -> None:
    from qa.loading import Problem, load_articles

    (tmp_path / "a.md").write_text("---\nid: a\nauthor: [Ann Lee, Bob Roy]\n---\nBody text.")
    (tmp_path / "b.md").write_text("---\nid: b\ntitle: {nested: map}\n---\nBody text.")
    # a YAML alias bomb: expanding it as text would take gigabytes
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    (tmp_path / "c.md").write_text(f"---\n{bomb}title: *i\n---\nBody text.")
    items = list(load_articles([tmp_path]))
    articles = {i.id: i for i in items if not isinstance(i, Problem)}
    warnings = {Path(i.path).name: i.reason for i in items if isinstance(i, Problem)}
    assert articles["a"].author == "Ann Lee, Bob Roy"
    assert set(articles) == {"a", "b", "c"}  # ingested, without the field that is not text
    assert articles["b"].title == articles["c"].title == "Body text."
    assert all(not i.skipped for i in items if isinstance(i, Problem))
    assert "`title` is a nested list or mapping; ignored" in warnings["b.md"]
    assert "`title` is a nested list or mapping; ignored" in warnings["c.md"]


# Interrupted writes (in-process; the SIGKILL versions are in tests/integration/test_crash_recovery.py) ---------

def _corpus(d: Path, n: int, version: str = "") -> Path:
    d.mkdir(exist_ok=True)
    for i in range(n):
        body = " ".join(f"Report {i}{version} sentence {j} about harbor number {i * 7 + j}." for j in range(60))
        (d / f"a{i:02d}.md").write_text(GOOD.format(id=f"art{i:02d}", title=f"Report {i}", body=body))
    return d


def _state(store: Store) -> tuple[dict[str, int], list[str]]:
    """article id -> number of chunks, from the article records; and every chunk id."""
    return {r["id"]: r["chunks"] for r in store.list_articles()}, sorted(store.chunk_texts())


def _crash_on_record_write(store: Store, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """The process "dies" when writing the (after+1)-th article record: its chunks are in, its record is not."""
    calls = {"n": 0}
    real = store.articles.upsert

    def dying(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > after:
            raise KeyboardInterrupt  # like Ctrl-C: nothing after this line runs
        return real(*args, **kwargs)

    monkeypatch.setattr(store.articles, "upsert", dying)


def test_interrupted_ingest_rerun_equals_a_clean_ingest(tmp_path: Path, fake_env: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    d = _corpus(tmp_path / "news", 12)
    clean_settings = Settings(home=tmp_path / "clean")
    clean = open_store(clean_settings, make_embeddings(clean_settings))
    ingest([d], clean, clean_settings)

    s = Settings()
    store = open_store(s, make_embeddings(s))
    monkeypatch.setattr("qa.ingest.FLUSH_CHUNKS", 1)  # one article per write batch: crash after exactly five
    _crash_on_record_write(store, monkeypatch, after=5)
    with pytest.raises(KeyboardInterrupt):
        ingest([d], store, s)
    monkeypatch.undo()
    articles, chunk_ids = _state(store)
    assert len(articles) == 5 and len(chunk_ids) > sum(articles.values())  # part-way, with orphan chunks

    (d / "a05.md").unlink()  # the half-written article's file is gone: its chunks must not linger
    rerun = ingest([d], open_store(s, make_embeddings(s)), s)
    assert rerun.repaired == 1
    ingest([d], clean, clean_settings, prune=True)
    assert _state(open_store(s)) == _state(clean)
    assert not (s.home / "ingest.incomplete").exists()


def test_a_reverted_file_after_an_interrupted_update_gets_its_own_chunks_back(
        tmp_path: Path, fake_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _corpus(tmp_path / "news", 3)
    s = Settings()
    store = open_store(s, make_embeddings(s))
    ingest([d], store, s)
    before = store.chunk_texts()
    _corpus(d, 3, version="-edited")  # same number of chunks, other words
    _crash_on_record_write(store, monkeypatch, after=0)
    with pytest.raises(KeyboardInterrupt):
        ingest([d], store, s)
    monkeypatch.undo()
    _corpus(d, 3)  # the user reverts the edit before running ingest again
    ingest([d], open_store(s, make_embeddings(s)), s)
    after = open_store(s).chunk_texts()
    assert {i: t for i, (t, _m) in after.items()} == {i: t for i, (t, _m) in before.items()}
    for i, (t, m) in after.items():
        text = open_store(s).get_article(str(m["article_id"])).text  # type: ignore[union-attr]
        assert text[int(m["start"]):int(m["end"])] == t, i


# Lock -------------------------------------------------------------------------------------------------------

HOLD = ("import sys, time\nfrom qa.config import Settings\nfrom qa.locking import ingest_lock\n"
        "with ingest_lock(Settings()):\n    print('held', flush=True)\n    time.sleep(600)\n")


def test_second_ingest_says_another_is_running_and_a_killed_holder_frees_the_lock(fake_env: None) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = qa("ingest", str(SEED))
        assert busy.returncode == 1
        assert f"Another `qa ingest` (pid {holder.pid}) is running" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    recovered = qa("ingest", str(SEED))  # the lock file is still there; its flock died with the holder
    assert recovered.returncode == 0, recovered.stderr
    assert "1 added" in recovered.stderr


# Damaged index ------------------------------------------------------------------------------------------------

def test_deleted_index_is_reported_and_rebuild_recovers(fake_env: None) -> None:
    import shutil

    assert runner.invoke(app, ["ingest", str(SEED)]).exit_code == 0
    shutil.rmtree(Settings().chroma_dir)
    for args in (("sources",), ("ask", "What did Blinken ask?")):
        r = qa(*args)
        assert r.returncode == 1 and "index at" in r.stderr and "is missing" in r.stderr, r.stderr
        assert "qa ingest --rebuild" in r.stderr and "Traceback" not in r.stderr
    assert qa("ingest", "--rebuild", str(SEED)).returncode == 0
    assert [a["id"] for a in json.loads(qa("sources", "--json").stdout)] == ["france24-blinken-iraq-militias"]


@pytest.mark.parametrize("damage", ["sqlite-garbage", "folder-is-a-file"])
def test_corrupted_index_is_reported_and_rebuild_recovers(damage: str, fake_env: None) -> None:
    import shutil

    assert runner.invoke(app, ["ingest", str(SEED)]).exit_code == 0
    s = Settings()
    if damage == "sqlite-garbage":
        (s.chroma_dir / "chroma.sqlite3").write_bytes(os.urandom(200_000))
    else:
        shutil.rmtree(s.chroma_dir)
        s.chroma_dir.write_text("not a folder")
    r = qa("sources")
    assert r.returncode == 1 and "Cannot open the index" in r.stderr and "qa ingest --rebuild" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 2 and "Traceback" not in r.stderr
    rebuilt = qa("ingest", "--rebuild", str(SEED))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert [a["id"] for a in json.loads(qa("sources", "--json").stdout)] == ["france24-blinken-iraq-militias"]


def test_an_index_built_with_another_embedding_model_says_so(fake_env: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["ingest", str(SEED)]).exit_code == 0  # 256-dimensional fake vectors
    monkeypatch.setenv("QA_EMBEDDINGS", "minilm")  # 384-dimensional
    r = qa("ask", "What did Blinken ask Sudani?")
    assert r.returncode == 1 and "built with another embedding model" in r.stderr, r.stderr
    assert "256-dimensional" in r.stderr and "384" in r.stderr and "qa ingest --rebuild" in r.stderr
    assert "Traceback" not in r.stderr


# Bad questions ------------------------------------------------------------------------------------------------

def test_a_huge_question_set_reports_each_bad_line_by_number_and_keeps_the_rest(tmp_path: Path) -> None:
    from qa.evaluation import load_questions

    good = {"question": "What did Blinken ask Sudani?", "answers": ["curb"], "sources": [SEED_ID], "answerable": True}
    lines = [json.dumps({"id": f"q{i}", **good}) for i in range(50_000)]
    lines[10_000] = json.dumps({"id": "huge", **good, "question": "Why " * 1_250_000 + "?"})  # a 5 MB question
    lines[20_000] = '{"id": "cut", "question": '
    lines[30_000] = json.dumps({"id": "typed", **good, "answerable": "maybe"})
    lines[40_000] = json.dumps({"id": "blank", **good, "question": "  "})
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    qs = load_questions(path)
    assert len(qs.questions) == 49_996 and "huge" not in {q.id for q in qs.questions}
    assert [p.split(": ", 1)[0] for p in qs.problems] == [f"{path}:{n}" for n in (10_001, 20_001, 30_001, 40_001)]
    assert "the question is 5,000,001 characters long; at most 2,000 are accepted" in qs.problems[0]


def test_an_overlong_question_is_one_line_in_ask_eval_and_chat_and_the_rest_goes_on(tmp_path: Path,
                                                                                   fake_env: None) -> None:
    long_question = "Why did the minister say that " + "the talks went on and on and " * 100 + "?"
    asked = qa("ask", long_question)
    assert asked.returncode == 1 and "characters long; at most 2,000 are accepted" in asked.stderr, asked.stderr
    assert len(asked.stderr.strip().splitlines()) == 2 and "Traceback" not in asked.stderr

    path = tmp_path / "qs.jsonl"
    rows = [{"id": "ok", "question": "What did Blinken ask Sudani?", "answers": ["curb"], "sources": [SEED_ID],
             "answerable": True}, {"id": "long", "question": long_question, "answers": [], "answerable": False}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = qa("eval", str(path), "--retrieval-only", "--corpus", str(SEED), "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    assert f"{path}:2: the question is" in run.stderr and long_question not in run.stderr
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["n"] == 1

    chat = runner.invoke(app, ["chat"], input=f"{long_question}\nWhat did Blinken ask Sudani?\n")
    assert "characters long; at most 2,000 are accepted" in chat.stdout
    assert "militias" in chat.stdout  # the next question is answered
    assert chat.exit_code == 1  # piped: a question that failed makes the exit status non-zero
