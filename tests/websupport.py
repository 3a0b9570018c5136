"""Helpers for the web and browser tests: a signed-in test client, and just enough HTML
parsing to assert on rendered pages with simple CSS selectors.

Selectors: compound parts (``tag``, ``.class``, ``#id``, ``[attr]``, ``[attr=value]``)
joined by spaces (descendant). Text is unescaped, as a browser shows it.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

from flask.testing import FlaskClient

from app.web.security import make_csrf_token

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_PART = re.compile(r"([a-zA-Z][\w-]*)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(?:=\"?([^\]\"]*)\"?)?\]")


class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else c.text for c in self.children).split())

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def select(self, selector: str) -> list["Node"]:
        return select(self, selector)

    def one(self, selector: str) -> "Node":
        found = select(self, selector)
        assert len(found) == 1, f"{selector!r}: {len(found)} matches"
        return found[0]

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: (v or "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str | bytes) -> Node:
    builder = _Builder()
    builder.feed(html.decode() if isinstance(html, bytes) else html)
    builder.close()
    return builder.root


def _matches(node: Node, compound: str) -> bool:
    for tag, cls, ident, attr, value in _PART.findall(compound):
        if tag and node.tag != tag.lower():
            return False
        if cls and cls not in node.classes:
            return False
        if ident and node.attrs.get("id") != ident:
            return False
        if attr and (attr not in node.attrs or (value and node.attrs[attr] != value)):
            return False
    return True


def _descendants(node: Node):
    for child in node.children:
        if isinstance(child, Node):
            yield child
            yield from _descendants(child)


def select(root: Node, selector: str) -> list[Node]:
    parts = selector.split()
    found = [n for n in _descendants(root) if _matches(n, parts[-1])]

    def has_ancestors(node: Node, remaining: list[str]) -> bool:
        if not remaining:
            return True
        parent = node.parent
        while parent is not None:
            if _matches(parent, remaining[-1]) and has_ancestors(parent, remaining[:-1]):
                return True
            parent = parent.parent
        return False

    return [n for n in found if has_ancestors(n, parts[:-1])]


# --- the test client ---------------------------------------------------------------

USER, PASSWORD = "alice", "wonderland"


def basic_auth(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Client(FlaskClient):
    """Signs in with Basic unless told otherwise; ``form`` adds a valid CSRF token."""

    authorization: str | None = basic_auth()
    user: str = USER

    def open(self, *args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if self.authorization and "Authorization" not in headers:
            headers["Authorization"] = self.authorization
        return super().open(*args, headers=headers, **kwargs)

    def token(self, user: str | None = None) -> str:
        _, key = self.application.extensions["settings_cache"].get()
        return make_csrf_token(key, user or self.user)

    def form(self, url: str, data: dict | None = None, htmx: bool = False, headers: dict | None = None, **kwargs):
        data = {"csrf_token": self.token(), **(data or {})}
        headers = dict(headers or {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.post(url, data=data, headers=headers, **kwargs)

    def htmx(self, url: str, **kwargs):
        headers = {"HX-Request": "true", **(kwargs.pop("headers", None) or {})}
        return self.get(url, headers=headers, **kwargs)
