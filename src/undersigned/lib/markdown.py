"""Letter text is written in Markdown by organizers and shown as sanitised HTML.

Raw HTML in the Markdown is not rendered (markdown-it's ``html`` option off), and the result is still
passed through nh3 (Ammonia) with a small allow-list, so a compromised organizer account cannot put
script, styles or remote images on a page signers trust.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote",
    "ul", "ol", "li", "h2", "h3", "h4", "a",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


@lru_cache(maxsize=256)  # a pure function of the text; letter pages render the same few texts all day
def render_markdown(text: str) -> str:
    html = _markdown.render(text or "")
    # Headings written as "# Title" become h2 at most: the page's h1 is the letter title.
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
