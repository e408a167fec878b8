"""A real HTTP server on loopback standing in for Discord's webhook endpoint.

It records every request it receives and answers from a script the test writes: a status, a
JSON body, headers, or a hang of N seconds before answering. When the script runs out it
answers 204 like Discord does. Nothing of ours is mocked: the transport talks HTTP to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 204
    body: Any = None  # JSON-serialisable; None sends an empty body
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0  # wait this long (or until the server is released) first


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON payload
    at: float  # time.monotonic() when it arrived


class DiscordServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- Lifecycle ---

    def start(self) -> DiscordServer:
        self._thread.start()
        return self

    def release(self) -> None:
        """End every hang now (so that shutting down never waits on a hanging answer)."""
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- What the test sees and scripts ---

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def prefix(self) -> str:
        return f"{self.base_url}/api/webhooks/"

    def webhook_url(self, webhook_id: str, token: str) -> str:
        return f"{self.prefix}{webhook_id}/{token}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def wait_for_requests(self, count: int, seconds: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.received()) < count:
            time.sleep(0.02)
        return self.received()

    # --- Serving ---

    def _next_reply(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            return self._script.popleft() if self._script else Reply()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                received = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                    at=time.monotonic(),
                )
                reply = server._next_reply(received)
                if reply.hang_seconds:
                    server._released.wait(reply.hang_seconds)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if payload:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout): nobody is listening any more

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
