"""An alert mail's structure: its subject's template, its labels and its layout, never a value.

Azure's mail template is not public (issue 25, case 6), so the first real tenants' mails are how we learn
it. A label is the first cell of a table row that has more than one cell (the common alert schema's field
names in Azure's tables, "Alert rule", "Window start time"...); text passes through `words_shape`, so a
rule name, an account or a time never reaches the pack.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from drill.fidelity.shapes import STOP_WORDS, VOCABULARY, words_shape

BLOCKS = ("h1", "h2", "h3", "h4", "p", "table", "pre", "ul", "ol", "a", "img", "hr")


class _Skeleton(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.layout: list[str] = []
        self.labels: list[str] = []
        self.links: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._link: list[str] | None = None
        self._cols: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS and (not self.layout or self.layout[-1] != tag or tag in ("table", "a")):
            self.layout.append(tag)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self._link = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            label = words_shape(self._row[0]) if len(self._row) >= 2 else ""
            if any(w.lower() in VOCABULARY and w.lower() not in STOP_WORDS for w in label.split()):
                self.labels.append(label)  # a first cell with no template word is a value (a result row)
            self._cols.append(len(self._row))
            self._row = None
        elif tag == "a" and self._link is not None:
            self.links.append(words_shape("".join(self._link)))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link.append(data)


def mail_structure(subject: str, body: str, content_type: str = "html") -> dict[str, Any]:
    """The structure of one alert mail (subject template, labels in order, layout, link texts)."""
    if content_type.lower() != "html":
        lines = [ln for ln in body.splitlines() if ln.strip()]
        labels = [words_shape(ln.split(":", 1)[0]) for ln in lines if ":" in ln]
        return {"subject": words_shape(subject), "content_type": "text", "labels": labels, "layout": []}
    parser = _Skeleton()
    parser.feed(body)
    parser.close()
    return {
        "subject": words_shape(subject),
        "content_type": "html",
        "labels": parser.labels,
        "layout": parser.layout,
        "links": parser.links,
    }
