"""Lines the embedded desk prints once it is serving, offered by the apps that own them.

`rundesk` lives in core, the ground floor, so it does not ask the webhook app for the demo
trader's URL; the webhook app registers its banner at start-up instead, as notifications
subscribes to events.
"""

from __future__ import annotations

from collections.abc import Callable

# A banner takes the host and port the desk listens on and returns its text, "" for none.
Banner = Callable[[str, int], str]

_banners: list[Banner] = []


def add_banner(banner: Banner) -> None:
    if banner not in _banners:
        _banners.append(banner)


def banners(host: str, port: int) -> list[str]:
    """The registered banners' texts for a desk on `host:port`, leaving out the empty ones."""
    return [text for banner in _banners if (text := banner(host, port))]
