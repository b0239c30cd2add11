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

__all__ = ["clean_text", "defang_urls", "markdown_code", "markdown_escape", "markdown_inert", "xml_text"]

# Markdown/HTML metacharacters CommonMark lets a backslash neutralise (any ASCII punctuation may be escaped).
_MARKDOWN_META = re.compile(r"([\\`*_\[\]{}()<>#+!|~&])")


def xml_text(value: object) -> str:
    """Text legal in XML 1.0: the serializer escapes `<`, `&` and quotes, but keeps illegal code points."""
    return clean_text(value, multiline=True)


def markdown_escape(value: object) -> str:
    """One line of plain Markdown text in which no character has Markdown or HTML meaning."""
    return _MARKDOWN_META.sub(r"\\\1", clean_text(value))


# What markdown_inert escapes wherever it stands: links and footnotes (an unescaped `[` is needed for every
# bracket construct, so `]` and `(` can stay), GFM table cells, and the backslash itself (else a tenant's
# `\` would cancel the escape after it). `<` (HTML, autolinks) becomes the entity `&lt;`: see below.
_ALWAYS = frozenset("\\[|")
# Delimiters that act only in pairs within one line (emphasis, strikethrough, code spans, fences): escaped
# when the line holds two or more of them. `_` counts only where it is not inside a word.
_PAIRED = frozenset("*~`")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Block starts: ATX heading, block quote, bullet list, setext underline; an ordered list "1." / "1)".
_BLOCK_START = re.compile(r"^([#>+*\-=]|[0-9]{1,9}(?=[.)]))")


def _word_underscore(text: str, i: int) -> bool:
    """An `_` between two letters or digits: CommonMark's flanking rules never let it open or close."""
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()


def markdown_inert(value: object) -> str:
    """One line of text that CommonMark and GFM show exactly as written, escaping only where needed.

    For text also shown raw (Maester's Excel view copies the Markdown fields as they are): a backslash
    only before a character that would otherwise mean something. `*`, `~`, `` ` `` and a word-boundary
    `_` act only in pairs on one line, `_` inside a word never opens or closes emphasis (CommonMark's
    flanking rules), an `&` is an entity only before `name;`, and `#`, `>`, `+`, `*`, `-`, `=` and "1."
    act only at the start of a line; so "CA001 - Require MFA (8a7b)", "ea_admin_01" or
    "*.onmicrosoft.com" keep no backslash. Leading and trailing blanks go (four leading spaces start a
    code block). URLs are not defanged here: see defang_urls.

    `<` is written `&lt;` (shown as `<`), so the text holds no `<` at all: Get-MtHtmlReport pastes the
    results as JSON into an inline <script> without HTML-escaping it (ConvertTo-Json does not), and a
    tenant name holding `</script>` would otherwise end Maester's script and start the tenant's HTML.
    """
    text = clean_text(value).strip()
    paired = {c for c in _PAIRED if text.count(c) >= 2}
    loose = [i for i, ch in enumerate(text) if ch == "_" and not _word_underscore(text, i)]
    if len(loose) >= 2:
        paired.add("_")
    out = []
    for i, ch in enumerate(text):
        if (
            ch in _ALWAYS
            or (ch in paired and not (ch == "_" and _word_underscore(text, i)))
            or (ch == "&" and _ENTITY.match(text, i))
        ):
            out.append("\\" + ch)
        elif ch == "<":
            out.append("&lt;")
        else:
            out.append(ch)
    escaped = "".join(out)
    start = _BLOCK_START.match(escaped)
    if start is None:
        return escaped
    if start.group(1).isdigit():
        end = start.end()
        return escaped[:end] + "\\" + escaped[end:]
    return "\\" + escaped


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
