"""One set of rules for every string an evidence renderer prints, whatever the output format.

Tenant strings (display names, policy names, mail subjects) and anything read back from a bundle or the
ledger are hostile input. A terminal escape (`ESC [2J`), a carriage return or a NUL in them can rewrite what
an auditor sees, make JUnit unparseable (XML 1.0 forbids most C0 characters), or hide text in a ticket. So
control characters are not dropped silently but shown as visible escapes (`\\x1b`): the evidence keeps
saying that something odd was there, and nothing acts on it. Each format then adds its own escaping.
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
# Markdown/HTML metacharacters CommonMark lets a backslash neutralise (any ASCII punctuation may be escaped).
_MARKDOWN_META = re.compile(r"([\\`*_\[\]{}()<>#+!|~&])")


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


def xml_text(value: object) -> str:
    """Text legal in XML 1.0: the serializer escapes `<`, `&` and quotes, but keeps illegal code points."""
    return clean_text(value, multiline=True)


def markdown_escape(value: object) -> str:
    """One line of plain Markdown text in which no character has Markdown or HTML meaning."""
    return _MARKDOWN_META.sub(r"\\\1", clean_text(value))


def markdown_code(value: object) -> str:
    """An inline code span: CommonMark interprets nothing inside one, so only its own delimiter and the table
    cell separator must go (GFM splits table cells on `|` even inside code spans)."""
    text = clean_text(value).replace("`", "'").replace("|", "/")
    return f"`{text}`" if text.strip() else "—"
