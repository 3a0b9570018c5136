"""A fault-injecting HTTP proxy on 127.0.0.1 in front of one of the sandbox's services.

The pipeline tests use it to make chosen requests fail in the ways upstreams
fail (HTTP 500, a reply cut short, a connection reset), by path and count, or
at random with a fixed seed. It forwards everything else to the real fake
service unchanged, so the answers keep the sandbox's shapes.

(The sandbox has its own fault switch too; this proxy lets a test pick one
endpoint, e.g. only the Weekly Exploration listing.)
"""

from __future__ import annotations

import random
import re
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

KINDS = ("500", "truncated", "reset")


@dataclass
class Rule:
    path: str  # a regular expression searched in the path (with the query)
    kind: str  # one of KINDS
    count: int | None = None  # None: every matching request
    method: str | None = None


class FaultProxy:
    """``FaultProxy(upstream_url)``: ``url`` has the same path prefix as the upstream's."""

    def __init__(self, upstream: str, *, rate: float = 0.0, seed: int = 14, kinds: tuple[str, ...] = KINDS) -> None:
        parts = urlsplit(upstream)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.rules: list[Rule] = []
        self.rate = rate
        self.kinds = kinds
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: list[tuple[str, str, str]] = []  # (method, path, kind)
        self.forwarded = 0
        self.session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                kind = proxy.fault_for(self.command, self.path)
                if kind == "reset":
                    # RST instead of FIN: the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if kind == "500":
                    page = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
                    self.send_response(500)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = proxy.session.request(self.command, proxy.origin + self.path, headers=headers, data=body,
                                               allow_redirects=False, timeout=30)
                content = answer.content
                if kind == "truncated":
                    content = content[: len(content) // 2]
                with proxy.lock:
                    proxy.forwarded += 1
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding",
                                            "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{parts.path}"

    def add(self, path: str, kind: str, count: int | None = None, method: str | None = None) -> None:
        assert kind in KINDS
        with self.lock:
            self.rules.append(Rule(path, kind, count, method))

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.rate = 0.0

    def fault_for(self, method: str, path: str) -> str | None:
        with self.lock:
            for rule in self.rules:
                if (rule.method is None or rule.method == method) and re.search(rule.path, path) and (
                        rule.count is None or rule.count > 0):
                    if rule.count is not None:
                        rule.count -= 1
                    self.injected.append((method, path, rule.kind))
                    return rule.kind
            if self.rate and self.random.random() < self.rate:
                kind = self.random.choice(self.kinds)
                self.injected.append((method, path, kind))
                return kind
        return None

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.session.close()
