"""A Mastodon status's HTML ``content`` as the text a reader sees, with the stdlib's ``html.parser``:
paragraphs and line breaks become newlines, a link becomes its address (the model's link mark, as X's
t.co links), a mention stays ``@name`` and a hashtag ``#tag`` (their visible text)."""

from __future__ import annotations

from html.parser import HTMLParser

#: A link with one of these classes is a mention or a hashtag: its visible text is kept, not its address.
_NAMED = {"mention", "hashtag", "u-url"}


class _Reader(HTMLParser):
    """Collects the visible text; inside an ordinary link, the link's address replaces its shortened label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[list[str]] = [[]]
        self.link_depth = 0  # > 0 inside an ordinary link whose address was written

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.paragraphs[-1].append("\n")
        elif tag == "p":
            self._new_paragraph()
        elif tag == "a":
            if self.link_depth:
                self.link_depth += 1
                return
            found = dict(attrs)
            classes = set((found.get("class") or "").split())
            href = found.get("href") or ""
            if not classes & _NAMED and href.startswith(("http://", "https://")):
                self.paragraphs[-1].append(href)
                self.link_depth = 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._new_paragraph()
        elif tag == "a" and self.link_depth:
            self.link_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.link_depth:
            self.paragraphs[-1].append(data)

    def _new_paragraph(self) -> None:
        if self.paragraphs[-1]:
            self.paragraphs.append([])


def visible_text(content: str) -> str:
    """The text of ``content`` (a status's or a profile note's HTML) as it reads: paragraphs apart by a
    blank line, ``<br>`` a newline, links as their addresses, mentions and hashtags as written."""
    reader = _Reader()
    reader.feed(content if isinstance(content, str) else "")
    reader.close()
    paragraphs = ("".join(parts).strip(" ") for parts in reader.paragraphs)
    return "\n\n".join(p for p in paragraphs if p.strip()).strip()
