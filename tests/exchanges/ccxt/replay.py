"""Replay recorded exchange traffic through real ccxt, one layer below it: the HTTP transport.

`CcxtAdapter` takes a `requests.Session`; ccxt sends every request through it. Mounting
`ReplayTransport` on that session answers each request from a recorded body and keeps the
request for inspection. Everything above the socket runs unchanged: ccxt's `sign()`, `fetch()`,
`handle_errors()`, HTTP-status mapping, market/order/balance parsing and our adapter on top.
Mocking `exchange.fetch` instead would skip `handle_errors()`, so error bodies would raise
nothing.

Recorded bodies live in `fixtures/<exchange>/` (trimmed copies of ccxt's static test data; each
file names its source commit), so these tests need nothing outside the repository.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

from apps.exchanges.adapters.ccxt import CcxtAdapter

FIXTURES = Path(__file__).parent / "fixtures"

# Distinctive fake credentials: a test searches error messages for them.
API_KEY = "TDKEY-9f3a7c21e4b8"
SECRET = "TDSECRET-5d0e6b92a17c"
PASSWORD = "TDPASS-71c4e09b"

FROZEN_MS = 1_700_000_000_000  # ccxt's clock in tests: timestamps and signatures repeat


@dataclass
class Route:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any
    exc: Exception | None
    headers: dict[str, str]
    times: int | None  # None: answers forever; n: answers n more times


@dataclass
class Call:
    """One request ccxt sent."""

    method: str
    url: str
    path: str
    query: dict[str, str]
    body: str | None
    headers: dict[str, str]

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).netloc

    def json(self) -> Any:
        return json.loads(self.body or "null")

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body or "", keep_blank_values=True))


class ReplayTransport(BaseAdapter):
    """Answers requests from recorded bodies and records every outgoing request.

    A request with no matching route raises `requests.ConnectionError`, which ccxt reports as a
    NetworkError: handy to capture a request without answering it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[Route] = []
        self.calls: list[Call] = []

    def add(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        query: dict[str, Any] | None = None,
        exc: Exception | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = None,
    ) -> ReplayTransport:
        """Answer `method path` (with at least `query`) with `body`, or raise `exc`."""
        self.routes.append(
            Route(
                method=method,
                path=path,
                query={k: str(v) for k, v in (query or {}).items()},
                status=status,
                body=body,
                exc=exc,
                headers=headers or {},
                times=times,
            )
        )
        return self

    def _match(self, method: str, path: str, query: dict[str, str]) -> Route | None:
        # The most specific query wins; among equals, the route added last.
        best = None
        for route in self.routes:
            if route.times == 0 or route.method != method or route.path != path:
                continue
            matches = all(query.get(k) == v for k, v in route.query.items())
            if matches and (best is None or len(route.query) >= len(best.query)):
                best = route
        return best

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        parts = urllib.parse.urlsplit(request.url)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        self.calls.append(
            Call(
                method=request.method,
                url=request.url,
                path=parts.path,
                query=query,
                body=body,
                headers=dict(request.headers),
            )
        )
        route = self._match(request.method, parts.path, query)
        if route is None:
            raise requests.exceptions.ConnectionError(f"no recorded response for {parts.path}")
        if route.times is not None:
            route.times -= 1
        if route.exc is not None:
            raise route.exc
        response = Response()
        response.status_code = route.status
        response.reason = http.client.responses.get(route.status, "")
        text = route.body if isinstance(route.body, str) else json.dumps(route.body)
        response._content = text.encode()
        response.headers = CaseInsensitiveDict(
            {"Content-Type": "application/json", **route.headers}
        )
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    def last(self, method: str, path: str) -> Call:
        """The most recent request to `method path`."""
        for call in reversed(self.calls):
            if call.method == method and call.path == path:
                return call
        sent = [f"{c.method} {c.path}" for c in self.calls]
        raise AssertionError(f"no {method} {path} was sent; sent: {sent}")

    def paths(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]


def load_fixture(exchange_id: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / exchange_id / f"{name}.json").read_text())


def recorded(exchange_id: str, name: str) -> Any:
    """One recorded HTTP response body from `fixtures/<exchange>/responses.json`."""
    return load_fixture(exchange_id, "responses")["bodies"][name]["body"]


def request_case(exchange_id: str, description: str) -> dict[str, Any]:
    """One of ccxt's recorded request cases from `fixtures/<exchange>/requests.json`."""
    for case in load_fixture(exchange_id, "requests")["cases"]:
        if case["description"] == description:
            return case
    raise KeyError(description)


@dataclass
class Replay:
    adapter: CcxtAdapter
    transport: ReplayTransport
    session: requests.Session = field(repr=False)

    @property
    def exchange(self) -> Any:
        """The ccxt instance inside the adapter (for clock freezing and option checks only)."""
        return self.adapter._exchange

    def freeze_clock(self) -> None:
        """Freeze ccxt's clock so timestamps and HMAC signatures repeat across runs."""
        self.exchange.milliseconds = lambda: FROZEN_MS


def replay(exchange_id: str, *, markets: bool = True, sandbox: bool = False) -> Replay:
    """A `CcxtAdapter` for `exchange_id` whose HTTP goes to a fresh `ReplayTransport`.

    With `markets`, the recorded raw market endpoints are routed (not yet loaded: the first
    adapter call loads them, as in production).
    """
    transport = ReplayTransport()
    session = requests.Session()
    session.trust_env = False  # an *_PROXY variable must not reroute the replay
    session.mount("https://", transport)
    session.mount("http://", transport)
    adapter = CcxtAdapter(
        exchange_id,
        api_key=API_KEY,
        secret=SECRET,
        password=PASSWORD,
        sandbox=sandbox,
        timeout_seconds=3,
        session=session,
    )
    # ccxt's throttle sleeps in real time (kraken: 1 s per call); replayed answers need no pause.
    adapter._exchange.enableRateLimit = False
    if markets:
        for response in load_fixture(exchange_id, "markets")["responses"]:
            transport.add(
                response["method"],
                response["path"],
                response["body"],
                status=response.get("status", 200),
                query=response.get("query"),
            )
    return Replay(adapter=adapter, transport=transport, session=session)


def case_request(case: dict[str, Any], output_type: str) -> tuple[str, dict[str, str], Any]:
    """(path, query, parsed body) of a recorded request case."""
    parts = urllib.parse.urlsplit(case["url"])
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    output = case.get("output")
    if output is None:
        body = None
    elif output_type == "urlencoded":
        body = dict(urllib.parse.parse_qsl(output, keep_blank_values=True))
    else:
        body = json.loads(output)
    return parts.path, query, body


def without(data: Any, keys: Sequence[str]) -> Any:
    """`data` minus `keys` (in a dict, or in each dict of a list), for skipKeys comparisons."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [without(item, keys) for item in data]
    return data
