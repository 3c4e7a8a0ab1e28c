"""Per-question outcome of two verification runs over the same drafts (two `bench/verify_ab.py --out` folders, or
two `qa eval --out` folders), e.g. before and after a change to the verification rules:

    .venv/bin/python bench/verify_diff.py BEFORE_DIR AFTER_DIR

Both runs are re-scored with today's metrics (`qa.evaluation.score`) first, so a change to scoring between the two
code versions is not counted as a change of outcome. Prints every question whose failure class, refusal or answer
text changed, with the rules that removed or re-cited its sentences in the AFTER run, and, when its answers carry
`checks`, how often each rule acted on dev and on heldout questions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rows(folder: Path) -> dict[str, dict[str, Any]]:
    from qa.evaluation import Result, score

    path = folder / "results-verified.jsonl"
    path = path if path.is_file() else folder / "results.jsonl"
    found = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {r["id"]: score(Result.from_dict(r)).to_dict() for r in found}


def main() -> None:
    before, after = rows(Path(sys.argv[1])), rows(Path(sys.argv[2]))
    same = changed = 0
    for qid in before:
        if qid not in after:
            continue
        a, b = before[qid], after[qid]
        ans_a, ans_b = a.get("answer") or {}, b.get("answer") or {}
        keys = ("failure_class",)
        if any(a[k] != b[k] for k in keys) or ans_a.get("answer") != ans_b.get("answer") or \
                ans_a.get("refused") != ans_b.get("refused"):
            changed += 1
            split = (a.get("extra") or {}).get("split", "")
            print(f"{qid} ({split}): {a['failure_class']} -> {b['failure_class']}")
            print(f"    before: {ans_a.get('answer', '')[:160]!r}")
            print(f"    after:  {ans_b.get('answer', '')[:160]!r}")
            for c in ans_b.get("checks") or []:
                if c["action"] != "kept":
                    print(f"    {c['action']} by {c['rule']}: {c['sentence'][:90]!r} — {c['detail'][:90]}")
        else:
            same += 1
    print(f"{same} questions with the same outcome, {changed} changed, of {len(before)} before / {len(after)} after")
    from qa.citations import rule_actions

    print("rule actions (after):", json.dumps(rule_actions(after.values())))


if __name__ == "__main__":
    main()
