"""Hostile files and unlucky users at the ingest boundary, through the installed `.venv/bin/qa` (issue 14).

Each test runs the console script as a user does, with the fake embedding and generator backends (the real models
are not the point here; the real MiniLM tokenizer still counts the word-pieces), and checks what the user sees (the
one line, the exit status) and what is stored afterwards (every good article once, nothing from outside the
folders given, nothing of the user's deleted). Faults are injected with a `sitecustomize` module on PYTHONPATH, so
the code under test is the installed code, unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

QA = Path(sys.executable).parent / "qa"
FEW = settings(max_examples=10, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
GOOD = {"good-one": "Ukraine exported wheat through Odesa. Prices fell in Cairo.",
        "good-two": "The minister met the envoy in Geneva. Talks resumed on grain."}


def qa(home: Path, *args: str, inject: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`qa ARGS` with QA_HOME=home and the fake backends; `inject`: Python run at start-up (sitecustomize)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_HOME=str(home), QA_EMBEDDINGS="fake", QA_LLM="fake", COLUMNS="200")
    env.pop("PYTHONPATH", None)
    if inject:
        site = Path(tempfile.mkdtemp(prefix="qa-inject-"))
        (site / "sitecustomize.py").write_text(textwrap.dedent(inject))
        env["PYTHONPATH"] = str(site)
    return subprocess.run([str(QA), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=home.parent, check=False)


def stored(home: Path) -> dict[str, dict]:
    r = qa(home, "sources", "--json")
    assert r.returncode == 0, r.stderr
    return {a["id"]: a for a in json.loads(r.stdout)}


def consistent(home: Path) -> dict[str, int]:
    """article id -> chunks, after checking every chunk belongs to a recorded article with that many chunks."""
    from collections import Counter

    from qa.config import Settings
    from qa.store import open_store

    store = open_store(Settings(home=home, embeddings="fake"))
    records = {r["id"]: r["chunks"] for r in store.list_articles()}
    chunks = Counter(str(m["article_id"]) for _t, m in store.chunk_texts().values())
    assert dict(chunks) == {k: v for k, v in records.items() if v}, (chunks, records)
    return records


def good_folder(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, body in GOOD.items():
        (d / f"{name}.md").write_text(f"---\ntitle: {name}\ndate: 2022-03-01\n---\n{body}\n")
    return d


def lines_of(stderr: str, word: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith(word + " ")]


# 1. The metadata boundary ---------------------------------------------------------------------------------------

SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60), st.binary(max_size=20), st.dates(), st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["2024-02-30", "2022-13-01", "2022-03-01T25:00:00", "0001-01-01", "March 2022", "yesterday",
                     "2022-02-29", "31/31/2022", "1e400", "", "   ", "\x1b]0;pwned\x07"]),
)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                     max_leaves=8)
FIELDS = ("title", "date", "source", "url", "author", "published", "headline", "outlet")


@FEW
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), VALUE, min_size=1), min_size=1, max_size=4))
def test_no_front_matter_value_of_any_yaml_type_aborts_an_ingest(metas: list[dict]) -> None:
    home = Path(tempfile.mkdtemp()) / "home"
    d = good_folder(home.parent / "news")
    for i, meta in enumerate(metas):
        front = yaml.safe_dump(meta, allow_unicode=True)
        (d / f"hostile{i}.md").write_text(f"---\n{front}---\nHostile article number {i} about harbours.\n")
    r = qa(home, "ingest", str(d))
    assert r.returncode == 0, r.stderr  # nothing skipped: a value that cannot be used is a warning only
    assert "Traceback" not in r.stderr and "\x1b" not in r.stderr
    for line in lines_of(r.stderr, "warning"):
        assert re.match(r"warning \S+/hostile\d\.md: `\w+` ", line), line
        assert "ingested without a date" in line or "ignored" in line, line
    ids = stored(home)
    assert set(ids) == {*GOOD, *(f"hostile{i}" for i in range(len(metas)))}
    assert all(ids[g]["date"] == "2022-03-01" for g in GOOD)
    for a in ids.values():
        assert not a["date"] or date.fromisoformat(a["date"][:10]).year >= 1700


def test_news_date_formats_are_read_and_impossible_dates_are_one_warning(tmp_path: Path) -> None:
    formats = {
        "iso": ("2022-03-14", "2022-03-14"), "iso-time": ("2022-03-14T10:30:00Z", "2022-03-14T10:30:00+00:00"),
        "iso-zone": ("2022-03-14 10:30:00+02:00", "2022-03-14T10:30:00+02:00"),
        "abbrev": ("Mar. 3, 2022", "2022-03-03"), "ordinal": ("March 3rd, 2022", "2022-03-03"),
        "rfc2822": ("Thu, 03 Mar 2022 10:00:00 +0000", "2022-03-03T10:00:00+00:00"),
        "day-first": ("3 March 2022", "2022-03-03"), "us-zone": ("2022-03-01 10:00 EST", "2022-03-01T10:00:00-05:00"),
    }
    impossible = {"feb30": "2024-02-30", "month13": "2022-13-01", "hour25": "2022-03-01T25:00:00",
                  "noyear": "March 3", "words": "last Tuesday"}
    d = good_folder(tmp_path / "news")
    for name, (value, _) in formats.items():
        (d / f"{name}.md").write_text(f"---\ndate: {value}\n---\nAn article dated {name}.\n")
    for name, value in impossible.items():
        (d / f"{name}.md").write_text(f"---\ndate: {value}\n---\nAn article with a bad date, {name}.\n")
    home = tmp_path / "home"
    r = qa(home, "ingest", str(d))
    assert r.returncode == 0, r.stderr
    warnings = lines_of(r.stderr, "warning")
    assert len(warnings) == len(impossible), warnings
    for name, value in impossible.items():
        mine = [w for w in warnings if f"/{name}.md: `date` " in w]
        assert len(mine) == 1 and value in mine[0] and mine[0].endswith("ingested without a date"), warnings
    ids = stored(home)
    assert {n: ids[n]["date"] for n in formats} == {n: iso for n, (_v, iso) in formats.items()}
    assert all(ids[n]["date"] == "" for n in impossible)


NAME = st.binary(min_size=1, max_size=30).filter(
    lambda b: b"/" not in b and b"\x00" not in b and not b.startswith(b".") and b not in (b"good-one", b"good-two"))


@settings(FEW, max_examples=4)  # many names per ingest: each example is two real ingests
@given(st.lists(NAME, min_size=1, max_size=12, unique=True))
def test_any_file_name_bytes_get_a_safe_id_and_never_touch_the_rest(names: list[bytes]) -> None:
    home = Path(tempfile.mkdtemp()) / "home"
    d = good_folder(home.parent / "news")
    for name in names:
        with open(os.path.join(os.fsencode(d), name + b".txt"), "wb") as f:
            f.write(b"A file with a hostile name. It is still an article about ports.\n")
    r = qa(home, "ingest", str(d))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "index could not be read" not in r.stderr
    assert "\x1b" not in r.stderr
    ids = stored(home)
    assert len(ids) == 2 + len(names) and set(GOOD) <= set(ids)
    for hostile in set(ids) - set(GOOD):
        hostile.encode("utf-8")  # storable and printable
        assert ids[hostile]["title"].startswith("A file with a hostile name")
    again = qa(home, "ingest", str(d))  # the same ids again: nothing added twice
    assert again.returncode == 0 and f"0 added, 0 updated, {len(ids)} unchanged" in again.stderr, again.stderr
    assert consistent(home) == {k: 1 for k in ids}


# 2. Files stay inside the folders given --------------------------------------------------------------------------

def test_links_out_of_the_folder_are_skipped_with_one_line_unless_asked_for(tmp_path: Path) -> None:
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "diary.md").write_text("My bank PIN is 4321. Nobody must read this.\n")
    (secret / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    d = good_folder(tmp_path / "news")
    (d / "passwd.md").symlink_to(secret / "passwd")  # an article name, a target outside
    (d / "diary.md").symlink_to(secret / "diary.md")
    (d / "elsewhere").symlink_to(secret, target_is_directory=True)
    (d / "sub").mkdir()
    (d / "sub" / "inside.md").symlink_to(d / "good-one.md")  # a link that stays inside is followed
    home = tmp_path / "home"
    r = qa(home, "ingest", str(d))
    assert r.returncode == 3, r.stderr
    skipped = lines_of(r.stderr, "skipped")
    assert len(skipped) == 3, skipped
    for name in ("passwd.md", "diary.md", "elsewhere"):
        (line,) = [s for s in skipped if f"/{name}: links to " in s]
        assert "outside the folders given" in line and "--follow-symlinks" in line
    ids = stored(home)
    assert "passwd" not in ids and "diary" not in ids and set(GOOD) <= set(ids)
    assert all("PIN" not in (qa(home, "show", i).stdout) for i in ids)
    shown = qa(home, "show", "passwd")
    assert shown.returncode == 1 and "root:x" not in shown.stdout + shown.stderr

    followed = qa(home, "ingest", str(d), "--follow-symlinks")
    assert followed.returncode == 3, followed.stderr  # passwd.md: a link to a file that is not an article file
    assert "diary" in stored(home)
    lines = lines_of(followed.stderr, "skipped")  # the folder link's diary.md is the same article id again
    (line,) = [ln for ln in lines if "passwd.md" in ln]
    assert "passwd.md: links to" in line and "not an article file" in line
    assert all("already used by" in ln for ln in lines if ln != line), lines


# 3. Linear-time text: long lines, huge titles and scripts without spaces ---------------------------------------

SCRIPT = st.sampled_from([(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0x0E01, 0x0E3A), (0xAC00, 0xD7A3), (0x61, 0x7A)])


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(SCRIPT, st.integers(2_000, 60_000), st.sampled_from(["", "。", ". "]))
def test_text_without_spaces_or_sentence_ends_is_chunked_within_the_budget(script: tuple[int, int], size: int,
                                                                           end: str) -> None:
    import random

    from qa.config import Settings
    from qa.embedding import token_counter
    from qa.store import open_store

    rng = random.Random(size)
    text = "".join(chr(rng.randint(*script)) + (end if rng.random() < 0.01 else "") for _ in range(size))
    home = Path(tempfile.mkdtemp()) / "home"
    d = good_folder(home.parent / "news")
    (d / "script.txt").write_text(text)
    r = qa(home, "ingest", str(d))
    assert r.returncode == 0, r.stderr
    s = Settings(home=home, embeddings="fake")
    chunks = open_store(s).chunk_texts()
    count = token_counter()
    mine = [t for t, m in chunks.values() if m["article_id"] == "script"]
    assert mine and max(count(mine)) <= s.chunk_tokens
    assert max(len(t) for t in mine) <= s.chunk_tokens * 12
    article = open_store(s).get_article("script")
    assert article is not None
    covered = sorted((int(m["start"]), int(m["end"])) for _t, m in chunks.values() if m["article_id"] == "script")
    assert all(article.text[a:b] for a, b in covered) and covered[0][0] == 0 and covered[-1][1] == len(article.text)


def test_a_one_megabyte_line_and_a_six_thousand_word_title_are_ingested(tmp_path: Path) -> None:
    words = ["the", "minister", "said", "talks", "on", "grain", "exports", "would", "resume", "after", "a", "pause"]
    line = " ".join(words[i % len(words)] for i in range(180_000))[:1_000_000]
    d = good_folder(tmp_path / "news")
    (d / "line.txt").write_text(line)
    (d / "title.md").write_text("---\ntitle: " + " ".join(words[i % len(words)] for i in range(6_000))
                                + "\n---\nThe body is short. It has two sentences.\n")
    home = tmp_path / "home"
    r = qa(home, "ingest", str(d))
    assert r.returncode == 0, r.stderr
    ids = stored(home)
    assert ids["line"]["chunks"] > 500 and len(ids["title"]["title"]) <= 300
    consistent(home)


# 6. Destructive commands are safe -----------------------------------------------------------------------------

def test_rebuild_without_a_path_refuses_and_deletes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert qa(home, "ingest", str(good_folder(tmp_path / "news"))).returncode == 0
    r = qa(home, "ingest", "--rebuild")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: --rebuild deletes the index") and "nothing was deleted" in r.stderr
    assert set(stored(home)) == set(GOOD)
    for missing in (tmp_path / "typo", tmp_path / "empty"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        r = qa(home, "ingest", "--rebuild", str(missing))
        assert r.returncode == 1 and "nothing was deleted" in r.stderr, r.stderr
        assert set(stored(home)) == set(GOOD)


def test_prune_never_prunes_under_a_missing_or_empty_root(tmp_path: Path) -> None:
    home = tmp_path / "home"
    a = good_folder(tmp_path / "drive" / "news")
    b = tmp_path / "other"
    b.mkdir()
    (b / "kept.md").write_text("Another folder's article. It must survive a prune of the first.\n")
    assert qa(home, "ingest", str(a), str(b)).returncode == 0
    shutil.move(str(tmp_path / "drive"), str(tmp_path / "unmounted"))  # the drive is gone
    r = qa(home, "ingest", str(a), "--prune")
    assert r.returncode == 3, r.stderr
    (line,) = lines_of(r.stderr, "skipped")
    assert line == f"skipped {a}: no such file or folder (an unmounted drive?); not pruning under it: the 2 " \
                   "articles from there were kept"
    assert set(stored(home)) == {*GOOD, "kept"}
    a.mkdir(parents=True)  # an empty mount point
    r = qa(home, "ingest", str(a), "--prune")
    assert r.returncode == 3 and "no article files were found there" in r.stderr, r.stderr
    assert set(stored(home)) == {*GOOD, "kept"}
    shutil.rmtree(tmp_path / "drive")
    shutil.move(str(tmp_path / "unmounted"), str(tmp_path / "drive"))
    (a / "good-two.md").unlink()  # really deleted by the user: pruned, and only under the folder given
    (b / "kept.md").unlink()
    r = qa(home, "ingest", str(a), "--prune")
    assert r.returncode == 0 and "1 pruned" in r.stderr, r.stderr
    assert set(stored(home)) == {"good-one", "kept"}


def test_rm_removes_articles_chunks_and_keyword_rows_and_names_unknown_ids(tmp_path: Path) -> None:
    home = tmp_path / "home"
    d = good_folder(tmp_path / "news")
    assert qa(home, "ingest", str(d)).returncode == 0
    r = qa(home, "rm", "good-two", "no-such-id")
    assert r.returncode == 3, r.stderr
    assert "removed good-two: good-two (its file" in r.stderr
    assert "not removed no-such-id: no such article in the index" in r.stderr
    assert consistent(home) == {"good-one": 1}
    env_free = qa(home, "ask", "What did the minister and the envoy discuss in Geneva?", "--json")
    assert env_free.returncode == 0, env_free.stderr
    assert all(p["article_id"] != "good-two" for p in json.loads(env_free.stdout)["passages"])
    r = qa(home, "rm", "good-two")
    assert r.returncode == 1 and "not removed good-two" in r.stderr


def test_rm_killed_part_way_is_finished_by_the_next_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert qa(home, "ingest", str(good_folder(tmp_path / "news"))).returncode == 0
    die = """
        import os
        import qa.store
        def dying(self, article_id):
            self.articles.delete(ids=[article_id])
            os._exit(9)  # killed between the record and its chunks
        qa.store.Store.delete_article = dying
    """
    assert qa(home, "rm", "good-one", inject=die).returncode == 9
    r = qa(home, "rm", "good-one")
    assert r.returncode == 0 and "removed good-one" in r.stderr, r.stderr
    assert consistent(home) == {"good-two": 1}


def test_the_demo_article_never_goes_into_an_index_that_held_articles(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert qa(home, "ingest", str(good_folder(tmp_path / "news"))).returncode == 0
    assert qa(home, "rm", *GOOD).returncode == 0
    r = qa(home, "ask", "What did Blinken ask Sudani?")
    assert r.returncode == 1 and "is empty" in r.stderr and "qa ingest PATH" in r.stderr, r.stderr
    assert stored(home) == {}
    fresh = qa(tmp_path / "fresh", "ask", "What did Blinken ask Sudani?", "--json")  # a new index: the demo
    assert fresh.returncode == 0 and "demo article" in fresh.stderr, fresh.stderr


# 8. Resource faults ---------------------------------------------------------------------------------------------

ENOSPC_AFTER_ONE = """
    import errno, os
    import qa.ingest, qa.store
    qa.ingest.FLUSH_CHUNKS = 4
    real = qa.store.Store.write_articles
    calls = []
    def full(self, batch):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, batch)
    qa.store.Store.write_articles = full
"""


def _many(d: Path, n: int) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (d / f"a{i:02d}.md").write_text(f"---\ntitle: Report {i}\n---\nPort {i} reopened on Monday. "
                                        f"Ships {i} left with grain. Prices fell by {i} percent.\n")
    return d


def test_a_full_disk_is_one_line_the_index_is_intact_and_the_next_ingest_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    d = _many(tmp_path / "news", 12)
    r = qa(home, "ingest", str(d), inject=ENOSPC_AFTER_ONE)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in r.stderr, lines
    assert lines[0].startswith("error: The disk holding") and "is full" in lines[0] and "index is intact" in lines[0]
    assert "free some space" in lines[1] and "QA_HOME" in lines[1] and "--rebuild" not in r.stderr
    before = consistent(home)  # readable, consistent, the first batch is there
    assert 0 < len(before) < 12
    again = qa(home, "ingest", str(d))
    assert again.returncode == 0, again.stderr
    assert consistent(home) == {f"a{i:02d}": 1 for i in range(12)}


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here (not root?): {done.stderr.decode().strip()}")


def test_a_really_full_disk_then_freed_space(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "3M")
    try:
        home = disk / "home"
        d = _many(tmp_path / "news", 300)
        r = qa(home, "ingest", str(d))
        assert r.returncode == 1 and "is full" in r.stderr and "--rebuild" not in r.stderr, r.stderr
        reader = qa(home, "sources")  # Chroma writes its log to read: a reader says the same, never "rebuild"
        assert reader.returncode in (0, 1) and "--rebuild" not in reader.stderr, reader.stderr
        assert reader.returncode == 0 or "is full" in reader.stderr, reader.stderr
        subprocess.run(["mount", "-o", "remount,size=80M", str(disk)], check=True)
        again = qa(home, "ingest", str(d))
        assert again.returncode == 0, again.stderr
        assert len(consistent(home)) == 300
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_read_only_home_is_one_line_and_nothing_changes(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "60M")
    try:
        home = disk / "home"
        d = good_folder(tmp_path / "news")
        assert qa(home, "ingest", str(d)).returncode == 0
        (d / "new.md").write_text("A new article. It cannot be stored on a read-only disk.\n")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        r = qa(home, "ingest", str(d))
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert "Cannot write to" in r.stderr and "index is intact" in r.stderr and "--rebuild" not in r.stderr
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert set(stored(home)) == set(GOOD)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


# 9. Long work is visible when piped ---------------------------------------------------------------------------

SLOW = """
    import time
    import qa.cli_common, qa.embedding
    qa.cli_common.PROGRESS_S = 0.5
    real = qa.embedding.FakeEmbeddings.embed_documents
    def slow(self, texts):
        time.sleep(0.3)
        return real(self, texts)
    qa.embedding.FakeEmbeddings.embed_documents = slow
"""


def test_a_piped_ingest_prints_progress_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    d = tmp_path / "news"
    d.mkdir()
    for i in range(60):
        (d / f"a{i:02d}.md").write_text(" ".join(f"Sentence {j} of report {i} about port {j}." for j in range(120)))
    r = qa(home, "ingest", str(d), inject=SLOW)
    assert r.returncode == 0, r.stderr
    progress = [ln for ln in r.stderr.splitlines() if ln.startswith("ingest: ")]
    assert len(progress) >= 2, r.stderr
    for ln in progress:
        assert re.fullmatch(r"ingest: \d+/60 articles, [\d,]+ chunks embedded, \d+ chunks/s, "
                            r"(about \d+ (min \d\d )?s left|time left not known yet)", ln), ln
    chunks = [int(re.search(r"([\d,]+) chunks embedded", ln).group(1).replace(",", "")) for ln in progress]
    assert chunks == sorted(chunks) and chunks[-1] > chunks[0]


def test_in_a_terminal_the_bar_and_chunk_count_move_while_embedding(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    d = tmp_path / "news"
    d.mkdir()
    for i in range(20):
        (d / f"a{i:02d}.md").write_text(" ".join(f"Sentence {j} of report {i} about port {j}." for j in range(120)))
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SLOW))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_HOME=str(tmp_path / "home"), QA_EMBEDDINGS="fake", QA_LLM="fake", PYTHONPATH=str(site),
               TERM="xterm-256color")
    child = pexpect.spawn(str(QA), ["ingest", str(d)], env=env, encoding="utf-8", dimensions=(40, 200), timeout=300)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)
    counts = [int(c.replace(",", "")) for c in re.findall(r"([\d,]+) chunks, \d+/s", screen)]
    # the bar is redrawn while a 256-chunk batch is embedded: the count rises in steps of one embedding call
    assert len(set(counts)) >= 4 and counts == sorted(counts), counts
    assert "20 added" in screen


def test_rebuild_never_deletes_folders_qa_did_not_write(tmp_path: Path) -> None:
    """QA_HOME / --home pointed at a project of the user's that has its own `chroma/` or `bm25/` folder: --rebuild
    refuses on one line and every file of the user's is still there; an index qa made is rebuilt as before."""
    corpus = tmp_path / "news"
    corpus.mkdir()
    (corpus / "a.md").write_text("The bridge in Visegrad was closed for repairs on Wednesday, officials said.\n")
    project = tmp_path / "project"
    (project / "chroma").mkdir(parents=True)
    (project / "bm25").mkdir()
    (project / "chroma" / "notes.txt").write_text("mine")
    (project / "bm25" / "thesis.tex").write_text("mine too")
    r = qa(project, "ingest", "--rebuild", str(corpus))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "notes.txt" in r.stderr and "nothing was deleted" in r.stderr
    assert (project / "chroma" / "notes.txt").read_text() == "mine"
    assert (project / "bm25" / "thesis.tex").read_text() == "mine too"
    home = tmp_path / "home"
    assert qa(home, "ingest", str(corpus)).returncode == 0
    r = qa(home, "ingest", "--rebuild", str(corpus))
    assert r.returncode == 0, r.stderr
    assert set(stored(home)) == {"a"}


def test_an_empty_home_option_is_refused_not_the_current_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_EMBEDDINGS="fake", QA_LLM="fake")
    r = subprocess.run([str(QA), "--home", "", "sources"], capture_output=True, text=True, env=env, cwd=tmp_path,
                       check=False, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "chroma").exists()
