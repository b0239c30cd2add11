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

__all__ = ["clean_text", "defang_urls", "markdown_code", "markdown_escape", "xml_text"]

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


# GitHub-flavoured Markdown turns bare `http(s)://...`, `www....` and `mailto:`/`xmpp:` text into links
# (remark-gfm's autolink literals, which Maester's report uses), so a tenant string could plant a clickable
# phishing link in a report an administrator trusts. Defanged the way threat reports write indicators:
# `hxxps://evil[.]example/path`, `www[.]evil[.]example`, `mailto[:]x`. E-mail addresses are left as they
# are: UPNs must stay readable, and the worst GFM makes of one is a mailto: link.
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*)(://)([^\s/?#\\]*)")
_WWW = re.compile(r"(?i)\bwww\.")
_MAILTO = re.compile(r"(?i)\b(mailto|xmpp):")


def _defang_url(match: re.Match[str]) -> str:
    scheme, host = match.group(1), match.group(3)
    lowered = scheme.lower()
    if lowered in ("http", "https"):
        scheme = "hxxp" + scheme[4:]
        sep = "://"
    else:
        sep = "[:]//"
    return f"{scheme}{sep}{host.replace('.', '[.]')}"


def defang_urls(value: object) -> str:
    """Text in which no URL, `www.` name or `mailto:` can become a link; the rest unchanged."""
    text = _URL.sub(_defang_url, str(value))
    text = _WWW.sub(lambda m: f"{m.group(0)[:3]}[.]", text)
    return _MAILTO.sub(lambda m: f"{m.group(1)}[:]", text)
