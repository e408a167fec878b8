"""A TCP proxy a test can cut, to take a real service (PostgreSQL) away from a real process.

    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        ...  # point the process at 127.0.0.1:proxy.port
        proxy.cut()  # every connection dropped; new ones hang, unanswered
        proxy.restore()  # forwarding again

While cut, a new connection is accepted and then never answered, as when the database's host
is unreachable (a refusal would fail fast, which is the easier case); `cut(refuse=True)`
closes new connections at once instead. Threads, not asyncio: the test thread stays free for
pytest-django and the ORM.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

CHUNK = 65536


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # both ends of every forwarded connection
        self._held: set[socket.socket] = set()  # accepted while cut, never answered
        self._cut = False
        self._refuse = False
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._acceptor.start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connections(self) -> int:
        """Forwarded connections open now."""
        with self._lock:
            return len(self._open) // 2

    def cut(self, *, refuse: bool = False) -> None:
        """Drop every connection, and from now on hold new ones unanswered (or refuse them)."""
        with self._lock:
            self._cut, self._refuse = True, refuse
            dropping, self._open = self._open, set()
        for sock in dropping:
            _close(sock)

    def restore(self) -> None:
        """Forward new connections again; the ones held while cut are closed."""
        with self._lock:
            self._cut = False
            held, self._held = self._held, set()
        for sock in held:
            _close(sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            everything = self._open | self._held
            self._open, self._held = set(), set()
        _close(self._listener)
        for sock in everything:
            _close(sock)
        self._acceptor.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                if self._closed:
                    _close(client)
                    return
                cut, refuse = self._cut, self._refuse
                if cut and not refuse:
                    self._held.add(client)
            if cut:
                if refuse:
                    _close(client)
                continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._cut or self._closed:  # cut while connecting
                _close(client)
                _close(upstream)
                return
            self._open |= {client, upstream}
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
        except OSError:
            pass  # one end was closed (by the peer, or by cut)
        with self._lock:
            self._open -= {source, sink}
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    # shutdown first: it wakes a thread blocked in recv on this socket, which close alone
    # does not, and the peer sees the connection end at once.
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
