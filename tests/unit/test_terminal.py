"""The terminal boundary: nothing from outside qa can drive the user's terminal, and ordinary text is untouched."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.terminal import clean, dumps, one_line
from tests.hostile import TERMINAL_ATTACKS as ATTACKS


def _no_control(s: str) -> bool:
    return all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in s)


@given(st.lists(st.sampled_from(ATTACKS) | st.text(max_size=20), max_size=12).map("".join))
@settings(max_examples=300, deadline=None)
def test_no_escape_or_control_character_survives(text: str) -> None:
    out = clean(text)
    assert _no_control(out)
    assert "\x1b" not in one_line(text) and "\n" not in one_line(text)


def test_escape_sequences_are_removed_whole() -> None:
    assert clean("Title\x1b]0;pwned\x07 here") == "Title here"
    assert clean("a\x1b[2J\x1b[Hb") == "ab"
    assert clean("see \x1b]8;;http://evil/\x1b\\this\x1b]8;;\x1b\\ link") == "see this link"
    assert clean("x\x9b31my") == "xy"


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@given(st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=BIDI))
       | st.sampled_from(["line\n\tindented", "é — “q”", "مرحبا بالعالم"]))
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert clean(text) == text


@given(st.text())
def test_json_keeps_the_text_exact_and_escapes_controls(text: str) -> None:
    out = dumps({"t": text})
    assert json.loads(out) == {"t": text}
    assert _no_control(out.replace("\n", "").replace("\t", ""))


def test_bidi_overrides_cannot_reorder_what_the_terminal_shows() -> None:
    assert clean("Budget vote \u202eRETCAF\u202c passes") == "Budget vote RETCAF passes"


def test_the_console_does_not_expand_emoji_codes_into_check_marks() -> None:
    from qa.terminal import console

    con = console()
    with con.capture() as out:
        con.print(":white_check_mark: Verified by Reuters :heavy_check_mark:")
    assert out.get().strip() == ":white_check_mark: Verified by Reuters :heavy_check_mark:"
