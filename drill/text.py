"""Text from outside the product made inert: every control character shown as a visible escape.

Tenant strings (display names, policy names, mail subjects), log rows, and anything read back from a file
are hostile input. A terminal escape (`ESC [2J`), a carriage return, a line break or a NUL in them can
rewrite what a reader sees, start a forged line of its own, make XML unparseable, or turn a comment into live
YAML. So control characters are not dropped silently but shown as visible escapes (`\\x1b`): the output
keeps saying that something odd was there, and nothing acts on it. This sits at the bottom of the layers so
every writer (evidence renderers, notices, generated playbooks) uses the one rule; each format then adds its
own escaping (drill/evidence/_sanitize.py).
"""

from __future__ import annotations

import re

# C0 (except tab and newline, handled per format), DEL, C1, lone surrogates, the XML non-characters,
# and the Unicode bidi / zero-width controls that reorder or hide text ("Trojan Source").
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_NEWLINES = re.compile("\r\n?")
_LINE_BREAKS = re.compile("[\n\t\u2028\u2029\x85]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_text(value: object, *, multiline: bool = False) -> str:
    """Text with every control character shown as a visible escape; newlines and tabs kept if `multiline`.

    An ANSI sequence such as `ESC [2J` becomes the inert text `\\x1b[2J`. A lone `\\r` is the classic way
    to overwrite a line on a terminal, so it is escaped too; `\\r\\n` is just a Windows line end.
    """
    text = str(value)
    if multiline:
        text = _NEWLINES.sub(lambda m: "\n" if m.group(0) == "\r\n" else "\\x0d", text)
    else:
        text = text.replace("\r", "\\x0d")
        text = _LINE_BREAKS.sub(" ", text)
    return _CONTROL.sub(_visible, text)
