"""Saved questions re-asked when the index changes: `qa watch add/list/rm/log`, `qa watch`, `qa ingest --watch`.

Storage (under QA_HOME/watch/): `questions.json` holds the saved questions, each with the history of its answers
(date, the index state it was asked on, the answer with its citations and the passages it was given);
`states/ID.json` holds one index state (article id -> content hash) per distinct index an answer was given on, so
a later check knows which articles are new, changed or removed since that answer. Every write re-reads the file
under a lock (filelock, as qa/locking.py uses for ingests) and replaces it atomically: two `qa watch` commands never
lose each other's changes, and a crash leaves the old file or the new one, never half of one.

Which saved questions are re-asked ("affected") is decided without generating:
1. the index changed since the question's last answer (state ids differ), or the question reads relative time
   ("this week", "the latest") without --as-of, so its window moved; otherwise it is not even searched;
2. retrieval only (cheap: no generator) is run for it with its filters and k; it is affected when a passage found
   now comes from an article that is new or changed since the last answer, when one of the passages the last
   answer was given has changed or was removed, or when the passages found differ from those the last answer was
   given (the prompt would differ). Otherwise the generator would see the very prompt it saw before: the answer
   cannot change, and it is reported unchanged without a generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError, UsageError

if TYPE_CHECKING:
    from qa.chain import Assistant
    from qa.config import Settings
    from qa.store import Store
    from qa.types import Answer, Passage

FORMAT = "qa-watch"
VERSION = 1
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FILTER_KEYS = ("source", "since", "until", "as_of")
LOCK_WAIT_S = 10.0
STOP_WORDS = {"a", "an", "the", "of", "in", "on", "for", "to", "and", "or", "is", "are", "was", "were", "did", "does",
              "do", "what", "who", "whom", "which", "when", "where", "why", "how", "much", "many", "has", "have",
              "had", "by", "with", "from", "at", "as", "its", "it", "be", "been", "that", "this", "since", "about"}


# Storage --------------------------------------------------------------------------------------------------------

def watch_dir(settings: Settings) -> Path:
    return settings.home / "watch"


def questions_path(settings: Settings) -> Path:
    return watch_dir(settings) / "questions.json"


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _damaged(path: Path, why: str) -> QAError:
    return QAError(f"The saved questions in {path} cannot be read ({why}); nothing was changed",
                   "fix the file, or move it away to start a new list (qa watch writes nothing else there)")


def load(settings: Settings) -> list[dict[str, Any]]:
    """The saved questions ([] when none were saved). A damaged file is an error naming it, never overwritten."""
    path = questions_path(settings)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise _damaged(path, getattr(e, "strerror", None) or str(e)) from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise _damaged(path, f"not JSON: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("questions"), list):
        raise _damaged(path, "not a qa watch file")
    questions = data["questions"]
    for i, q in enumerate(questions, 1):
        if not (isinstance(q, dict) and isinstance(q.get("name"), str) and isinstance(q.get("question"), str)
                and isinstance(q.get("history", []), list) and isinstance(q.get("filters", {}), dict)):
            raise _damaged(path, f"saved question {i} lacks a name or a question")
        q.setdefault("history", [])
        q.setdefault("filters", {})
    return questions


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` whole: a temporary file in the same folder, flushed to disk, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _save(settings: Settings, questions: list[dict[str, Any]]) -> None:
    data = {"format": FORMAT, "version": VERSION, "questions": questions}
    write_atomic(questions_path(settings), json.dumps(data, ensure_ascii=False, indent=1) + "\n")


@contextmanager
def editing(settings: Settings) -> Iterator[list[dict[str, Any]]]:
    """The saved questions, read under the watch lock; written back atomically when the block ends without error."""
    from filelock import FileLock, Timeout

    folder = watch_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / "watch.lock"))
    try:
        lock.acquire(timeout=LOCK_WAIT_S)
    except Timeout:
        raise QAError(f"Another qa watch command is saving questions in {folder}",
                      "run this again in a moment (the lock frees itself if that process dies)") from None
    try:
        questions = load(settings)
        yield questions
        _save(settings, questions)
    finally:
        lock.release()


def clean_filters(filters: dict[str, str] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (filters or {}).items() if k in FILTER_KEYS and v}


def default_name(question: str, taken: set[str]) -> str:
    """A short name from the question's words ("ukraine-security-assistance"), unique among `taken`."""
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", question) if w.lower() not in STOP_WORDS]
    base = "-".join(words[:4])[:40].strip("-") or "question"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


def find(questions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The saved question called `name` (or numbered so in `qa watch list`); a one-line error otherwise."""
    for q in questions:
        if q["name"] == name:
            return q
    if name.isdigit() and 1 <= int(name) <= len(questions):
        return questions[int(name) - 1]
    from qa.terminal import one_line

    names = ", ".join(q["name"] for q in questions[:8]) + (" …" if len(questions) > 8 else "")
    raise QAError(f"No saved question named {one_line(name)!r}",
                  f"saved: {names}" if questions else "save one with `qa watch add \"QUESTION\"`")


def add(settings: Settings, question: str, name: str = "", filters: dict[str, str] | None = None,
        k: int | None = None) -> dict[str, Any]:
    """Save a question (with its filters and k); returns it. A name in use or the same question saved twice is an
    error naming the saved one."""
    from qa.types import check_question

    check_question(question)
    if name and not NAME.fullmatch(name):
        raise UsageError(f"--name {name!r} cannot be used",
                         "use letters, digits, '-', '_' or '.', up to 64 characters, starting with a letter or digit")
    if name.isdigit():
        raise UsageError(f"--name {name!r} is a number; numbers stand for positions in `qa watch list`",
                         "give a name with a letter in it")
    filters = clean_filters(filters)
    with editing(settings) as questions:
        taken = {q["name"] for q in questions}
        if name in taken:
            raise QAError(f"A saved question is already named {name!r}", "choose another --name, or "
                          f"`qa watch rm {name}` first")
        same = next((q for q in questions if " ".join(q["question"].split()) == " ".join(question.split())
                     and q.get("filters", {}) == filters and q.get("k") == k), None)
        if same is not None:
            raise QAError(f"This question is already saved as {same['name']!r}", f"see `qa watch log {same['name']}`")
        entry: dict[str, Any] = {"name": name or default_name(question, taken), "question": " ".join(question.split()),
                                 "filters": filters, "k": k, "added": now_iso(), "history": []}
        questions.append(entry)
    return entry


def remove(settings: Settings, name: str) -> dict[str, Any]:
    with editing(settings) as questions:
        q = find(questions, name)
        questions.remove(q)
    return q


def record_answer(settings: Settings, name: str, entry: dict[str, Any]) -> None:
    """Append an answer to a saved question's history (nothing when it was removed meanwhile)."""
    with editing(settings) as questions:
        for q in questions:
            if q["name"] == name:
                q["history"].append(entry)


# Index states ---------------------------------------------------------------------------------------------------

def state_of(hashes: dict[str, tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """(state id, article id -> content hash) of an index; the id is Store.fingerprint's."""
    items = sorted(hashes.items())
    state_id = hashlib.sha256(json.dumps([(i, h) for i, (h, _) in items]).encode()).hexdigest()[:16]
    return state_id, {i: h for i, (h, _p) in items}


def save_state(settings: Settings, state_id: str, articles: dict[str, str]) -> None:
    path = watch_dir(settings) / "states" / f"{state_id}.json"
    if not path.exists():
        write_atomic(path, json.dumps(articles, ensure_ascii=False))


def load_state(settings: Settings, state_id: str) -> dict[str, str] | None:
    """A saved index state, None when it is missing or unreadable (then every passage is compared instead)."""
    if not re.fullmatch(r"[0-9a-f]{16}", state_id or ""):
        return None
    try:
        data = json.loads((watch_dir(settings) / "states" / f"{state_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def index_changes(before: dict[str, str], now: dict[str, str]) -> dict[str, list[str]]:
    return {"added": sorted(set(now) - set(before)),
            "changed": sorted(i for i in now if i in before and before[i] != now[i]),
            "removed": sorted(set(before) - set(now))}


# Answers --------------------------------------------------------------------------------------------------------

def passage_key(p: Passage) -> str:
    """A passage as the generator sees it: its chunk ids and a hash of its text."""
    return f"{p.chunk_id}#{hashlib.sha256(p.text.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def shown(passages: list[Passage]) -> list[Passage]:
    """The retrieved passages (an answer also lists passages it added to cite another version of an article)."""
    return [p for p in passages if not p.chunk_id.endswith("::version")]


def answer_entry(answer: Answer, state_id: str, articles: int, generated: bool = True,
                 reasons: list[str] | None = None) -> dict[str, Any]:
    """One history entry: the answer with its citations, the passages it was given, its date and index state."""
    return {
        "date": now_iso(), "state": state_id, "articles": articles, "generated": generated,
        "reasons": list(reasons or []),
        "answer": answer.answer, "short_answer": answer.short_answer, "refused": answer.refused,
        "citations": [{k: getattr(c, k) for k in ("n", "article_id", "title", "source", "date", "url", "quote",
                                                  "verified")} for c in answer.citations],
        "passages": [{"n": p.n, "article_id": p.article_id, "chunk_id": p.chunk_id, "key": passage_key(p),
                      "title": p.title, "date": p.date} for p in shown(answer.passages)],
    }


def affected(last: dict[str, Any] | None, now: list[Passage], changes: dict[str, list[str]] | None) -> list[str]:
    """Why a saved question must be asked again ([] when the generator would see the same prompt as last time).
    `last` is its last history entry, `now` the passages retrieval finds now, `changes` the articles added,
    changed and removed since that answer (None when that index state is not known)."""
    if last is None:
        return ["no answer yet"]
    before = last.get("passages", [])
    new_ids = set(changes["added"]) | set(changes["changed"]) if changes else set()
    gone_ids = set(changes["changed"]) | set(changes["removed"]) if changes else set()
    reasons = []
    fresh = [p for p in now if p.article_id in new_ids]
    for p in fresh:
        kind = "new" if changes and p.article_id in changes["added"] else "changed"
        reasons.append(f"passage {p.n} is from a {kind} article: {p.title or p.article_id}"
                       + (f" ({p.date[:10]})" if p.date else ""))
    for p in before:
        if p.get("article_id") in gone_ids:
            kind = "removed" if changes and p["article_id"] in changes["removed"] else "changed"
            reasons.append(f"passage {p.get('n')} of the last answer is from an article since {kind}: "
                           f"{p.get('title') or p['article_id']}")
    if not reasons and [passage_key(p) for p in now] != [p.get("key") for p in before]:
        reasons.append("the search now finds other passages (or the same in another order)")
    return reasons


def _sentences(text: str) -> list[str]:
    from qa.text import answer_sentences

    return [s for s, _n in answer_sentences(text)]


def _norm(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w$%.,]+", " ", sentence.lower()).split()).rstrip(".")


MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"


def _amounts(text: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(number, magnitude, counted words, as written) of each quantity in an answer (qa/conflicts.py's `counted`:
    "$1.3 billion in security assistance" -> ("1.3", "billion", ("secur", "assist"), "$1.3 billion")); days of a
    date ("14 March", "March 14") and years are left out."""
    from qa.conflicts import counted
    from qa.text import QUANTITY

    out = []
    for s in _sentences(text):
        written = {m.group(1).replace(",", ""): m for m in QUANTITY.finditer(s)}
        for number, unit, words in counted(s):
            m = written.get(number)
            if m is None:
                continue
            if "-" in s[max(0, m.start() - 1):m.start()] + s[m.end():m.end() + 1] or \
                    re.match(rf"\s*{MONTH}\b", s[m.end():], re.IGNORECASE) or \
                    re.search(rf"\b{MONTH}\s*$", s[:m.start()], re.IGNORECASE):
                continue
            dollar = "$" if s[max(0, m.start() - 1):m.start()] == "$" else ""
            out.append((number, unit, words, dollar + m.group(0).strip()))
    return out


def _shown_words(stems: Any) -> str:
    from qa.conflicts import _SHOWN

    return " ".join(_SHOWN.get(w, w) for w in stems)


def compare_answers(old: dict[str, Any], new: dict[str, Any], new_articles: set[str]) -> dict[str, Any]:
    """What changed between two history entries: sentences added and removed, amounts that moved (the same thing
    counted with another number, as qa/conflicts.py pairs them), amounts added or dropped, and the sources the new
    answer cites that the old one did not (with `new_article` when that article arrived since)."""
    a, b = _sentences(old.get("answer", "")), _sentences(new.get("answer", ""))
    na, nb = {_norm(s) for s in a}, {_norm(s) for s in b}
    added = [s for s in b if _norm(s) not in na]
    removed = [s for s in a if _norm(s) not in nb]
    qa_, qb = _amounts(old.get("answer", "")), _amounts(new.get("answer", ""))
    moved, used_a, used_b = [], set(), set()
    old_numbers = {(n, u) for n, u, _w, _s in qa_}
    new_numbers = {(n, u) for n, u, _w, _s in qb}
    for i, (n1, u1, w1, s1) in enumerate(qa_):
        if (n1, u1) in new_numbers:
            continue
        for j, (n2, u2, w2, s2) in enumerate(qb):
            if j in used_b or (n2, u2) in old_numbers or u1 != u2 or not (set(w1) & set(w2) or not w1 and not w2):
                continue
            moved.append({"before": s1, "now": s2, "counts": _shown_words(w for w in w1 if w in w2)})
            used_a.add(i)
            used_b.add(j)
            break
    for i, (n1, u1, _w1, s1) in enumerate(qa_):  # then, in the order they are given, one amount for another
        if i in used_a or (n1, u1) in new_numbers:
            continue
        other = next((x for x, (n2, u2, _w2, _s2) in enumerate(qb) if x not in used_b and u2 == u1
                      and (n2, u2) not in old_numbers), None)
        if other is not None:
            moved.append({"before": s1, "now": qb[other][3], "counts": ""})
            used_a.add(i)
            used_b.add(other)
    numbers_added = [s for j, (n, u, _w, s) in enumerate(qb) if j not in used_b and (n, u) not in old_numbers]
    numbers_removed = [s for i, (n, u, _w, s) in enumerate(qa_) if i not in used_a and (n, u) not in new_numbers]
    cited_before = {c["article_id"] for c in old.get("citations", [])}
    new_sources: list[dict[str, Any]] = []
    for c in new.get("citations", []):
        if c["article_id"] in cited_before or any(x["article_id"] == c["article_id"] for x in new_sources):
            continue
        new_sources.append({k: c.get(k, "") for k in ("n", "article_id", "title", "source", "date", "url")}
                           | {"new_article": c["article_id"] in new_articles})
    dropped = sorted(cited_before - {c["article_id"] for c in new.get("citations", [])})
    same = not added and not removed and not new_sources and not dropped and \
        bool(old.get("refused")) == bool(new.get("refused"))
    return {"same": same, "sentences_added": added, "sentences_removed": removed, "numbers_moved": moved,
            "numbers_added": list(dict.fromkeys(numbers_added)),
            "numbers_removed": list(dict.fromkeys(numbers_removed)),
            "new_sources": new_sources, "sources_dropped": dropped}


# The check ------------------------------------------------------------------------------------------------------

class CountingGenerator:
    """Wraps the assistant's generator runnable and counts its calls (answers and short answers)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.calls += 1
        yield from self.inner.stream(*args, **kwargs)

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.inner.invoke(*args, **kwargs)


def _filters(q: dict[str, Any]) -> Any:
    from qa.retrieval import Filters

    return Filters(**clean_filters(q.get("filters")))


def moves_with_today(q: dict[str, Any]) -> bool:
    """Whether the question's evidence window moves with the calendar ("this week", "the latest", no --as-of)."""
    if q.get("filters", {}).get("as_of"):
        return False
    from datetime import date

    from qa.retrieval import time_intent

    intent = time_intent(q["question"], date.today())
    return bool(intent.bound or intent.recent)


def check(settings: Settings, names: list[str] | None = None, assistant: Assistant | None = None,
          on_question: Any = None) -> dict[str, Any]:
    """Re-ask the saved questions the index change can affect; the others are reported unchanged, not generated.
    Returns the report (`qa watch --json`); `on_question(row)` is called as each question is done."""
    from qa.locking import ingest_lock
    from qa.store import open_store

    questions = load(settings)
    if names:
        wanted = [find(questions, n)["name"] for n in names]
        questions = [q for q in questions if q["name"] in wanted]
    report: dict[str, Any] = {"state": "", "articles": 0, "questions": [], "asked": 0, "not_asked": 0,
                              "generator_calls": 0}
    if not questions:
        return report
    with ingest_lock(settings):  # the index does not change while it is read (an ingest running: one line)
        store = assistant.retriever.store if assistant is not None else open_store(settings)
        state_id, articles = state_of(store.article_hashes())
    report["state"], report["articles"] = state_id, len(articles)
    todo: list[tuple[dict[str, Any], list[str], dict[str, list[str]] | None, list[Passage] | None]] = []
    for q in questions:
        last = q["history"][-1] if q["history"] else None
        if last is not None and last.get("state") == state_id and not moves_with_today(q):
            todo.append((q, [], {"added": [], "changed": [], "removed": []}, None))
            continue
        before = load_state(settings, last["state"]) if last is not None else None
        todo.append((q, ["?"], index_changes(before, articles) if before is not None else None, None))
    if any(reasons for _q, reasons, _c, _p in todo):
        save_state(settings, state_id, articles)
        if assistant is None:
            from qa.chain import make_assistant

            assistant = make_assistant(settings)
        for i, (q, _r, changes, _p) in enumerate(todo):
            if not _r:
                continue
            passages = assistant.retrieve(q["question"], q.get("k"), _filters(q))
            last = q["history"][-1] if q["history"] else None
            todo[i] = (q, affected(last, passages, changes), changes, passages)
    counter: CountingGenerator | None = None
    for q, reasons, changes, _passages in todo:
        last = q["history"][-1] if q["history"] else None
        row: dict[str, Any] = {"name": q["name"], "question": q["question"], "filters": q.get("filters", {}),
                               "reasons": reasons, "index_changes": {k: len(v) for k, v in (changes or {}).items()}}
        if not reasons:
            row["status"] = "unchanged"
            row["answer"] = last
            report["not_asked"] += 1
        else:
            assert assistant is not None
            if counter is None:
                counter = CountingGenerator(assistant.generate)
                assistant.generate = counter  # type: ignore[assignment]
            answer = assistant.ask(q["question"], k=q.get("k"), filters=_filters(q))
            entry = answer_entry(answer, state_id, len(articles), reasons=reasons)
            report["asked"] += 1
            if last is None:
                row["status"] = "first"
            else:
                entry["diff"] = compare_answers(last, entry, set((changes or {}).get("added", []))
                                                | set((changes or {}).get("changed", [])))
                row["status"] = "same" if entry["diff"]["same"] else "changed"
                row["before"] = last
                row["diff"] = entry["diff"]
            row["answer"] = entry
            record_answer(settings, q["name"], entry)
        report["questions"].append(row)
        if on_question is not None:
            on_question(row)
    report["generator_calls"] = counter.calls if counter is not None else 0
    return report


def add_answered(settings: Settings, saved: dict[str, Any], answer: Answer, store: Store) -> dict[str, Any]:
    """Keep an answer given now (`qa watch add`, chat's /watch) as the saved question's first history entry."""
    state_id, articles = state_of(store.article_hashes())
    save_state(settings, state_id, articles)
    entry = answer_entry(answer, state_id, len(articles), reasons=["saved"])
    record_answer(settings, saved["name"], entry)
    return entry


# Timeline -------------------------------------------------------------------------------------------------------

def timeline(q: dict[str, Any]) -> list[dict[str, Any]]:
    """How a saved question's answer moved: per answer its date, index size, key facts (the short answer and the
    amounts it gives) with the sources cited for them, and what changed from the answer before."""
    rows = []
    for e in q.get("history", []):
        rows.append({"date": e.get("date", ""), "state": e.get("state", ""), "articles": e.get("articles", 0),
                     "refused": bool(e.get("refused")), "short_answer": e.get("short_answer", ""),
                     "amounts": list(dict.fromkeys(s for _n, _u, _w, s in _amounts(e.get("answer", "")))),
                     "sources": [{k: c.get(k, "") for k in ("n", "article_id", "title", "source", "date", "url")}
                                 for c in e.get("citations", [])],
                     "answer": e.get("answer", ""), "diff": e.get("diff")})
    return rows
