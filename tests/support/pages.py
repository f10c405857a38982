"""Reading the public pages the way a person does: the total, the counts table and the list of names.

Only the stable hooks of the templates are used: ``#count-total``, ``#counts-by-company`` and
``.signature-list``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Collector(HTMLParser):
    """Collects the text of the elements that matter, with entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []  # the "role" of each open element that we track, or ""
        self.total = None
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self._buffer: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        role = ""
        if attrs.get("id") == "count-total":
            role = "total"
        elif attrs.get("id") == "counts-by-company":
            role = "table"
        elif tag == "ol" and "signature-list" in classes:
            role = "list"
        elif tag == "tr" and "table" in self.stack and "thead" not in self.stack:
            role = "row"
            self.rows.append([])
        elif tag in ("th", "td") and "row" in self.stack:
            role = "cell"
        elif tag == "li" and "list" in self.stack:
            role = "item"
        elif tag == "thead":
            role = "thead"
        if role in ("total", "cell", "item"):
            self._buffer = []
        if tag not in ("br", "img", "input", "meta", "link"):
            self.stack.append(role)

    def handle_endtag(self, tag):
        if not self.stack:
            return
        role = self.stack.pop()
        if role in ("total", "cell", "item") and self._buffer is not None:
            text = " ".join("".join(self._buffer).split())
            self._buffer = None
            if role == "total":
                self.total = int(text)
            elif role == "cell":
                self.rows[-1].append(text)
            else:
                self.items.append(text)

    def handle_data(self, data):
        if self._buffer is not None:
            self._buffer.append(data)


def read_letter_page(html: str) -> dict:
    """``{"total": int, "by_company": {name: (verified, self_reported, total)}, "signatures": [text]}``."""
    collector = _Collector()
    collector.feed(html)
    assert collector.total is not None, "no #count-total on the page"
    by_company = {row[0]: tuple(int(cell) for cell in row[1:4]) for row in collector.rows if row}
    return {"total": collector.total, "by_company": by_company, "signatures": collector.items}


def page_text(html: str) -> str:
    """The visible text of a page, whitespace collapsed (no tags, entities decoded)."""
    class Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style", "title")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style", "title")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())
