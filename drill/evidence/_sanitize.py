"""One set of rules for every string an evidence renderer prints, whatever the output format.

Tenant strings (display names, policy names, mail subjects) and anything read back from a bundle or the
ledger are hostile input. A terminal escape (`ESC [2J`), a carriage return or a NUL in them can rewrite what
an auditor sees, make JUnit unparseable (XML 1.0 forbids most C0 characters), or hide text in a ticket. So
control characters are not dropped silently but shown as visible escapes (`\\x1b`): the evidence keeps
saying that something odd was there, and nothing acts on it. Each format then adds its own escaping.
"""

from __future__ import annotations

import re

from drill.text import clean_text

__all__ = ["clean_text", "markdown_code", "markdown_escape", "xml_text"]

# Markdown/HTML metacharacters CommonMark lets a backslash neutralise (any ASCII punctuation may be escaped).
_MARKDOWN_META = re.compile(r"([\\`*_\[\]{}()<>#+!|~&])")


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
