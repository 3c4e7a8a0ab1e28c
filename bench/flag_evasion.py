"""How many planted variants the flags catch, and how many ordinary news lines they flag (issue 15), no model.

    .venv/bin/python bench/flag_evasion.py [--n 2000] [--seed 1] [--old PATH_TO_AN_OLDER_flags.py]

Variants are built as in tests/unit/test_flag_evasion.py: answer labels and role tags x positions (line start,
list markers, mid-paragraph, mid-sentence, markup) x obfuscations (invisible characters, look-alike letters,
full-width, accents, case, spacing, letter-spacing, colon look-alikes), and instructions addressed to a model x
addressees x obfuscations. `--old` loads another version of qa/flags.py (e.g. `git show REV:qa/flags.py > f.py`)
and measures it on the same variants, for a before/after table.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.unit import test_flag_evasion as t


def obfuscate(rng: random.Random, label: str, glued: bool) -> str:
    kinds = set(rng.sample(["invisible", "homoglyph", "fullwidth", "case", "spacing", "accent", "letterspaced",
                            "colon"], rng.randint(0, 3)))
    out = label
    if "case" in kinds:
        out = "".join(c.upper() if rng.random() < .5 else c.lower() for c in out)
    if "spacing" in kinds:
        out = out.replace(" ", rng.choice(["  ", "\t", "\u00a0", " \u2009", "_", "-"] + [""] * glued))
        out = out.replace(":", rng.choice([" :", ":", "  :"]))
    if "colon" in kinds:
        out = out.replace(":", rng.choice(["：", "꞉", "∶", "︓"]))
    if "letterspaced" in kinds:
        head, colon, tail = out.partition(":")
        out = " ".join(head) + colon + tail
    chars = []
    for c in out:
        if "homoglyph" in kinds and c in t.HOMOGLYPHS and rng.random() < .5:
            c = rng.choice(t.HOMOGLYPHS[c])
        if "fullwidth" in kinds and c.isalpha() and rng.random() < .5:
            c = t._fullwidth(c)
        if "accent" in kinds and c.isalpha() and rng.random() < .5:
            c += rng.choice(["\u0301", "\u0308", "\u0307"])
        chars.append(c)
        if "invisible" in kinds and rng.random() < .5:
            chars.append(rng.choice(t.INVISIBLE))
    return "".join(chars)


def sentence(rng: random.Random) -> str:
    return (f"{rng.choice(t.SUBJECTS)} {rng.choice(t.VERBS)} {rng.choice(t.OBJECTS)} worth {rng.randint(2, 900)} "
            f"million dollars {rng.choice(t.TAILS)}")


def variants(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """(kind, text, planted) triples."""
    out = []
    for _ in range(n):
        lines = [sentence(rng) for _ in range(3)]
        claim = sentence(rng).rstrip(".")
        if rng.random() < .5:
            label = rng.choice(t.LABELS)
            form = rng.choice(t.POSITIONS + ([t.MID] if label in t.MID_SENTENCE else []))
            planted = form.format(label=obfuscate(rng, label, True), claim=claim, before=lines[0],
                                  stem=lines[0].rstrip("."))
            out.append(("label", "\n".join(lines[:1] + [planted] + lines[1:]), planted))
        else:
            ai = rng.choice(t.ADDRESSEES)
            wording = rng.choice(t.INSTRUCTIONS).format(ai=ai, ai_cap=ai[0].upper() + ai[1:],
                                                        topic=rng.choice(t.TOPICS), claim=claim[0].lower() + claim[1:])
            planted = obfuscate(rng, wording, False) if rng.random() < .5 else wording
            out.append(("instruction", "\n".join(lines[:1] + [planted] + lines[1:]), planted))
    return out


def measure(flags: ModuleType, cases: list[tuple[str, str, str]]) -> dict[str, tuple[int, int]]:
    got: dict[str, list[int]] = {}
    for kind, text, planted in cases:
        caught = t._caught(text, planted, flags.find_flags(text))
        got.setdefault(kind, [0, 0])
        got[kind][0] += caught
        got[kind][1] += 1
    news = sum(bool(flags.find_flags(line)) for line in t.NEWS)
    return {**{k: (a, b) for k, (a, b) in got.items()}, "news lines flagged": (news, len(t.NEWS))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--old", type=Path, default=None)
    args = ap.parse_args()
    cases = variants(random.Random(args.seed), args.n)
    from qa import flags

    rows = {"now": measure(flags, cases)}
    if args.old:
        spec = importlib.util.spec_from_file_location("old_flags", args.old)
        assert spec and spec.loader
        old = importlib.util.module_from_spec(spec)
        sys.modules["old_flags"] = old
        spec.loader.exec_module(old)
        rows = {"old": measure(old, cases), **rows}
    print("| flags | " + " | ".join(rows["now"]) + " |")
    print("|---" * (len(rows["now"]) + 1) + "|")
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{a}/{b}" for a, b in r.values()) + " |")


if __name__ == "__main__":
    main()
