"""Read what a rendered page offers and has filled in, as the browser would submit it."""

from __future__ import annotations

from html.parser import HTMLParser


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self.disabled: set[str] = set()
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            if "disabled" in attributes:
                self.disabled.add(name)
            kind = attributes.get("type", "text")
            if kind == "checkbox":
                if "checked" in attributes:
                    self.values[name] = attributes.get("value") or "on"
            elif kind not in ("submit", "button") and "form" not in attributes:
                self.values.setdefault(name, attributes.get("value") or "")
        elif tag == "select" and name and "form" not in attributes:
            self._select, self._first_option = name, None
            self.options[name] = []
            if "disabled" in attributes:
                self.disabled.add(name)
        elif tag == "option" and self._select:
            value = attributes.get("value") or ""
            self.options[self._select].append(value)
            if self._first_option is None:
                self._first_option = value
            if "selected" in attributes:
                self.values[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            # A select with nothing marked selected submits its first option.
            self.values.setdefault(self._select, self._first_option or "")
            self._select = None


def form_values(html: str) -> dict[str, str]:
    """Every named input and select with its current value (selects: the selected option)."""
    parser = _Form()
    parser.feed(html)
    return parser.values


def select_options(html: str, name: str) -> list[str]:
    """The option values the select `name` offers, in order."""
    parser = _Form()
    parser.feed(html)
    return parser.options[name]


def disabled_fields(html: str) -> set[str]:
    parser = _Form()
    parser.feed(html)
    return parser.disabled
