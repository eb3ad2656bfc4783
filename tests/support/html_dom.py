"""A small DOM for tests that read HTML: parse with the standard library's html.parser, then find
elements by tag, id, class or attribute and read their text, instead of matching markup substrings.

Parsing is strict where a hand-written page should be: an end tag that does not close the element
that is open, or an element left open at the end, raises MalformedHTML (void elements such as
<meta>, <input>, <br> need no end tag; `<line ... />` closes itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class MalformedHTML(AssertionError):
    """The document's tags do not nest."""


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list, repr=False)
    parent: Element | None = field(default=None, repr=False)
    line: int = 0

    # --- reading ---------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """All text inside, as a browser's textContent (entities decoded)."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        """Whether the attribute is present (boolean attributes such as `hidden` have no value)."""
        return name in self.attrs

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    # --- finding ---------------------------------------------------------------------------
    def iter(self):
        """This element and every element inside it, in document order."""
        yield self
        for child in self.elements:
            yield from child.iter()

    def find_all(self, tag: str | None = None, *, class_: str | None = None, **attrs: str | bool) -> list[Element]:
        """Elements inside this one (not itself) with the tag, the class and the attributes given;
        an attribute given as True only has to be present, False must be absent."""
        found = []
        for el in self.iter():
            if el is self or (tag and el.tag != tag) or (class_ and class_ not in el.classes):
                continue
            if all(
                (name.rstrip("_").replace("_", "-") in el.attrs) == want
                if isinstance(want, bool)
                else el.attrs.get(name.rstrip("_").replace("_", "-")) == want
                for name, want in attrs.items()
            ):
                found.append(el)
        return found

    def find(self, tag: str | None = None, **kwargs) -> Element:
        """The one element that matches (AssertionError when none or several do)."""
        found = self.find_all(tag, **kwargs)
        assert len(found) == 1, f"expected one <{tag or '*'} {kwargs}>, found {len(found)}"
        return found[0]

    def by_id(self, id_: str) -> Element:
        return self.find(id=id_)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document")
        self.open = self.root
        self.doctype: str | None = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        el = Element(tag, dict(attrs), parent=self.open, line=self.getpos()[0])
        self.open.children.append(el)
        if tag not in VOID:
            self.open = el

    def handle_startendtag(self, tag, attrs):
        self.open.children.append(Element(tag, dict(attrs), parent=self.open, line=self.getpos()[0]))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.open.tag != tag:
            raise MalformedHTML(
                f"line {self.getpos()[0]}: </{tag}> closes <{self.open.tag}> (opened on line {self.open.line})"
            )
        self.open = self.open.parent

    def handle_data(self, data):
        self.open.children.append(data)


@dataclass
class Document:
    root: Element
    doctype: str | None

    def __getattr__(self, name):
        return getattr(self.root, name)


def parse_html(text: str) -> Document:
    """Parse a whole page; raises MalformedHTML when its tags do not nest."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    if builder.open is not builder.root:
        raise MalformedHTML(f"<{builder.open.tag}> opened on line {builder.open.line} is never closed")
    return Document(builder.root, builder.doctype)
