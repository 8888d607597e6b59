"""A TCP proxy a test can stop, start again on the same port, and cut.

It stands between goalflow and the PostgreSQL server the tests share, so a test can make
the server "go away" (refused connections, open ones closed) and come back, or drop
connections, without touching the real server that other tests are using.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from typing import Any


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``host``:``target_port``, one thread for everything.

    ``stop()`` closes the listening socket and every connection (new connections are then
    refused, as by a stopped server); ``start()`` listens again on the same port.
    ``drop_connections()`` closes the connections but keeps listening;
    ``cut_after_next_request()`` forwards the next thing a client sends and then drops that
    connection without passing the server's answer back (a reply lost on the way).
    """

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self.port = 0
        self._thread: threading.Thread | None = None
        self._orders: queue.Queue[tuple[str, threading.Event]] = queue.Queue()
        self._lock = threading.Lock()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._upstreams: set[socket.socket] = set()
        self._cut_next = False

    # -- control, from the test's thread ------------------------------------------

    def start(self) -> None:
        assert self._thread is None, "already running"
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, args=(listener,), daemon=True,
                                        name=f"tcp-proxy-{self.port}")
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and stop listening; returns when all are closed."""
        if self._thread is not None:
            self._order("stop")
            self._thread.join(10)
            assert not self._thread.is_alive(), "the proxy thread did not stop"
            self._thread = None

    def drop_connections(self) -> None:
        """Close every connection (both sides), keep listening."""
        self._order("drop")

    def cut_after_next_request(self) -> None:
        with self._lock:
            self._cut_next = True

    def upstream_ports(self) -> list[int]:
        """The local ports of the connections to the server (its ``client_port``s)."""
        with self._lock:
            return [s.getsockname()[1] for s in self._upstreams]

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _order(self, what: str) -> None:
        done = threading.Event()
        self._orders.put((what, done))
        self._wake_w.send(b"!")
        assert done.wait(10), f"the proxy did not {what}"

    # -- the proxy's own thread -----------------------------------------------------

    def _run(self, listener: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ, self._accept)
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        try:
            while True:
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        self._wake_r.recv(64)
                        while not self._orders.empty():
                            what, done = self._orders.get()
                            self._close_all(sel)
                            done.set()
                            if what == "stop":
                                return
                    else:
                        handler: Callable[[Any, Any], None] = key.data
                        handler(sel, key.fileobj)
        finally:
            self._close_all(sel)
            sel.close()
            for s in (listener, self._wake_r, self._wake_w):
                s.close()

    def _accept(self, sel: selectors.BaseSelector, listener: socket.socket) -> None:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._peers[client] = upstream
            self._peers[upstream] = client
            self._upstreams.add(upstream)
        sel.register(client, selectors.EVENT_READ, self._from_client)
        sel.register(upstream, selectors.EVENT_READ, self._from_server)

    def _from_client(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        if self._forward(sel, sock):
            with self._lock:
                cut, self._cut_next = self._cut_next, False
            if cut:
                self._close_pair(sel, sock)

    def _from_server(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        self._forward(sel, sock)

    def _forward(self, sel: selectors.BaseSelector, sock: socket.socket) -> bool:
        peer = self._peers.get(sock)
        try:
            data = sock.recv(65536)
            if data and peer is not None:
                peer.sendall(data)
                return True
        except OSError:
            pass
        self._close_pair(sel, sock)
        return False

    def _close_pair(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        with self._lock:
            peer = self._peers.pop(sock, None)
            if peer is not None:
                self._peers.pop(peer, None)
            self._upstreams.discard(sock)
            if peer is not None:
                self._upstreams.discard(peer)
        for s in (sock, peer):
            if s is not None:
                with contextlib.suppress(KeyError, ValueError):
                    sel.unregister(s)
                _close(s)

    def _close_all(self, sel: selectors.BaseSelector) -> None:
        with self._lock:
            socks = list(self._peers)
        for s in socks:
            self._close_pair(sel, s)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
