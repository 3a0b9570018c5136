"""A tiny notification receiver: what ntfy (and a JSON webhook) would be, recording every message.

Apprise's ``ntfy://127.0.0.1:PORT/TOPIC`` posts ``{"topic", "title", "message"}``
as JSON to ``/``; ntfy's plain form posts the text to ``/TOPIC`` with a
``Title`` header; Apprise's ``json://127.0.0.1:PORT/PATH`` posts
``{"version", "title", "message", "type"}`` to ``/PATH``. Each is recorded as
``{"topic", "title", "message", "path", "time"}`` and answered as ntfy does
(200 and the message as JSON). ``GET /messages`` (``?topic=``) lists them.

    with NotificationReceiver() as receiver:
        url = receiver.ntfy_url("household-4f9c")
        ...
        receiver.messages("household-4f9c")
        receiver.refuse_with(500)  # answer every message with HTTP 500 from now on
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from app.sandbox.core import ServiceServer


class NotificationReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._status: int | None = None
        self._server = ServiceServer("notifications", self._wsgi, host, port)

    # -- life ------------------------------------------------------------------

    def start(self) -> NotificationReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> NotificationReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests and the demo use -----------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def ntfy_url(self, topic: str) -> str:
        return f"ntfy://{self._server.host}:{self._server.port}/{topic}"

    def json_url(self, path: str) -> str:
        return f"json://{self._server.host}:{self._server.port}/{path.lstrip('/')}"

    def messages(self, topic: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages if topic is None or m["topic"] == topic]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def refuse_with(self, status: int | None) -> None:
        """Answer every message with this HTTP status (and record none); None: accept again."""
        self._status = status

    # -- the service ---------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        if request.method == "GET" and request.path == "/messages":
            body = json.dumps(self.messages(request.args.get("topic")), ensure_ascii=False)
            return Response(body, mimetype="application/json")(environ, start_response)
        if request.method not in ("POST", "PUT"):
            return Response(json.dumps({"code": 40500, "http": 405, "error": "method not allowed"}), 405,
                            mimetype="application/json")(environ, start_response)
        if self._status is not None:
            return Response(json.dumps({"code": self._status * 100, "http": self._status, "error": "refused"}),
                            self._status, mimetype="application/json")(environ, start_response)
        message = self._parse(request)
        with self._lock:
            self._messages.append(message)
        answer = {"id": f"m{len(self._messages)}", "time": int(message["time"]), "event": "message",
                  "topic": message["topic"], "title": message["title"], "message": message["message"]}
        return Response(json.dumps(answer), mimetype="application/json")(environ, start_response)

    @staticmethod
    def _parse(request: Request) -> dict[str, Any]:
        path = request.path.strip("/")
        data = request.get_data(as_text=True)
        payload: Any = None
        if "json" in (request.content_type or ""):
            try:
                payload = json.loads(data or "null")
            except ValueError:
                payload = None
        if isinstance(payload, dict):
            topic = str(payload.get("topic") or path)
            title, text = str(payload.get("title") or ""), str(payload.get("message") or "")
        else:
            topic = path
            title = request.headers.get("Title") or request.headers.get("X-Title") or ""
            text = data
        return {"topic": topic, "title": title, "message": text, "path": "/" + path, "time": time.time()}
