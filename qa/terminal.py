"""The one terminal boundary: text that comes from outside qa is made safe before it is printed.

Articles, file names, question sets and servers are not trusted to drive the user's terminal: escape sequences
(window titles, screen clears, OSC 8 links, cursor moves, their one-byte C1 forms) and other control characters
are removed before such text reaches a terminal or a log line; newline and tab are kept. `--json` output keeps
the text exact but escapes every control character, so piping it to a terminal is safe too.
"""

from __future__ import annotations

import json
import re
from typing import Any

# An escape sequence is removed whole, so no printable remainder of it ("]0;title") is left behind.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"                           # CSI ... final byte (cursor, colour, clear)
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/SOS/PM/APC ... ST
    r"|\x1b[ -/]*[0-~]?"                                            # the other ESC sequences (ESC c, ESC ( B)
)
# Every other C0 control but tab and newline, DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")  # json.dumps leaves these raw with ensure_ascii=False


def clean(text: str) -> str:
    """`text` without escape sequences and control characters (newline and tab kept); `\\r\\n` and a lone `\\r`
    (old Mac line ends) become `\\n`, so no line is overwritten and none is merged with the next."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def one_line(text: str) -> str:
    """`clean(text)` on one line: every run of whitespace, newlines included, becomes one space."""
    return " ".join(clean(text).split())


def dumps(obj: Any, indent: int | None = None) -> str:
    """JSON for stdout: text exact (non-ASCII kept readable) but every control character escaped as \\uXXXX."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False, indent=indent))


# Credentials in URLs (`http://user:secret@host`, `?api_key=...`) never reach a terminal, a log line or a file qa
# writes: the user part and secret-looking query values are replaced by `***`.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s]*@")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|secret|password|passwd|pwd|auth)=)"
                           r"[^&\s#]+")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by `***` (the host and path are kept)."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", text))
