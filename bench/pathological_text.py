"""Seconds per MB of ingest's text path (read + parse + sentence split + chunk + title cap) for hostile inputs, as
ratios to ordinary prose measured in the same run.

    .venv/bin/python bench/pathological_text.py [--mb 1]

Inputs (each written to a file and loaded like `qa ingest` does; embedding is left out: it costs the same per
chunk whatever the text was): ordinary prose (State Department releases concatenated, paragraphs kept; the seed
article repeated when ../shared/corpus is absent), one line of words without a sentence end, one line full of
abbreviations (every "." ambiguous, so the sentence splitter sees it all), a 6,000-word title, Chinese text without
spaces, Thai text without spaces, and a 19 MB HTML page. Token counts use the real MiniLM tokenizer, as ingest does.
Each line is sized --mb (the line inputs at 1/4 and the full size too, to show the cost per MB stays flat).
Goal: no input above ~10x prose per MB, and the same s/MB at both sizes (linear, not quadratic).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import header  # noqa: E402,RUF100

STATE_DEPT = Path(__file__).resolve().parent.parent.parent / "shared/corpus/state-dept-2021-2022/articles"
SEED = Path(__file__).resolve().parent.parent / "corpus"
WORDS = ["the", "minister", "said", "that", "talks", "on", "grain", "exports", "would", "resume", "next", "week", "after", "a", "long", "pause", "in", "Geneva", "while", "officials", "from", "both", "sides", "weighed", "new", "proposals"]


def prose(size: int) -> str:
    files = sorted(STATE_DEPT.glob("*")) if STATE_DEPT.is_dir() else sorted(SEED.glob("*"))
    parts, n = [], 0
    while n < size:
        for f in files:
            text = f.read_text(errors="replace")
            if text.startswith("---"):
                text = text.split("---", 2)[-1]
            parts.append(text.strip())
            n += len(text) + 2
            if n >= size:
                break
    return "\n\n".join(parts)[:size]


def one_line(size: int, rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(size // 5))[:size]


def abbreviations(size: int, rng: random.Random) -> str:
    names = ["U.S. Sen. J. Smith", "Gov. K. Lee", "Mr. A. B. Cole", "Dr. R. Roe", "Lt. Gen. P. Ng", "the U.N."]
    return " ".join(f"{rng.choice(names)} met {rng.choice(names)} in Washington, D.C. on Jan. 5" for _ in
                    range(size // 60))[:size]


def cjk(size: int, rng: random.Random) -> str:
    sentence = "中华人民共和国外交部发言人表示双方将继续就粮食出口问题进行磋商"
    return "".join(sentence[rng.randrange(len(sentence))] + ("。" if rng.random() < 0.03 else "")
                   for _ in range(size // 3))  # 3 bytes a character in UTF-8


def thai(size: int, rng: random.Random) -> str:
    sentence = "ประเทศไทยมีความสัมพันธ์ที่ดีกับประเทศเพื่อนบ้านในภูมิภาคเอเชียตะวันออกเฉียงใต้"
    return "".join(sentence[rng.randrange(len(sentence))] for _ in range(size // 3))


def title_file(rng: random.Random) -> str:
    return ("---\ntitle: " + " ".join(rng.choice(WORDS) for _ in range(6_000)) + "\n---\n"
            + prose(4_000) + "\n")


def html(size: int, rng: random.Random) -> str:
    body = prose(200_000).split("\n\n")
    parts = ["<html><head><title>A long page</title><meta property='article:published_time' "
             "content='2022-03-01T10:00:00Z'></head><body><nav><ul>" + "<li>Link</li>" * 200 + "</ul></nav><article>"]
    n = len(parts[0])
    while n < size - 200:
        p = f"<p>{rng.choice(body)}</p>\n"
        parts.append(p)
        n += len(p.encode())
    return "".join(parts) + "</article><footer>Footer</footer></body></html>"


def run(path: Path) -> tuple[float, int]:
    from qa.chunking import chunk_article
    from qa.embedding import token_counter
    from qa.ingest import _capped_title
    from qa.loading import load_file

    count = token_counter()
    t = time.perf_counter()
    article = load_file(path)
    chunks = chunk_article(article, count, 200)
    _capped_title(article)
    return time.perf_counter() - t, len(chunks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=1.0)
    args = ap.parse_args()
    header("pathological text: seconds per MB of read + parse + chunk + title cap")
    from qa.embedding import token_counter

    token_counter()([""])  # load the tokenizer outside the timings
    size = int(args.mb * 1_000_000)
    rng = random.Random(14)
    cases: list[tuple[str, str, str]] = [
        ("ordinary prose", "prose.txt", prose(size)),
        ("one line, no sentence end (1/4)", "line-q.txt", one_line(size // 4, rng)),
        ("one line, no sentence end", "line.txt", one_line(size, rng)),
        ("one line of abbreviations (1/4)", "abbr-q.txt", abbreviations(size // 4, rng)),
        ("one line of abbreviations", "abbr.txt", abbreviations(size, rng)),
        ("6,000-word title", "title.md", title_file(rng)),
        ("Chinese, no spaces", "cjk.txt", cjk(size, rng)),
        ("Thai, no spaces", "thai.txt", thai(size, rng)),
        ("19 MB HTML page", "page.html", html(19_000_000, rng)),
    ]
    with tempfile.TemporaryDirectory() as d:
        base = None
        print(f"{'input':34} {'MB':>6} {'seconds':>8} {'s/MB':>7} {'x prose':>8} {'chunks':>7}")
        for name, file, text in cases:
            path = Path(d) / file
            path.write_text(text, encoding="utf-8")
            mb = path.stat().st_size / 1e6
            seconds, chunks = run(path)
            per_mb = seconds / mb
            base = base or per_mb
            print(f"{name:34} {mb:6.2f} {seconds:8.2f} {per_mb:7.2f} {per_mb / base:8.2f} {chunks:7d}", flush=True)


if __name__ == "__main__":
    main()
