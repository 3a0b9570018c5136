"""Errors in one shape: ``{"error": {"code", "message", "details"}}`` on the API, a page (or a
small partial for htmx, shown in the page's toast) everywhere else."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.repository.store import StorageError
from app.web.context import is_api, is_htmx

CODES = {
    400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input",
    429: "too_many_requests", 500: "internal_error", 503: "unavailable",
}


class Problem(Exception):
    """A refusal a handler raises: status, machine code, message for people, details."""

    def __init__(self, status: int, message: str, code: str | None = None, details=None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details
        self.code = code or CODES.get(status, "error")


def error_response(status: int, code: str, message: str, details=None):
    if is_api():
        response = jsonify(error={"code": code, "message": message, "details": details})
        response.status_code = status
        return response
    if not is_htmx():
        return render_template("pages/error.html", status=status, message=message, details=details), status
    response = make_response(render_template("partials/error.html", message=message), status)
    # A refusal always lands in the toast, whatever the request targeted: the page's
    # htmx config swaps some codes (409, 422) into the target, which suits re-rendered
    # forms, not a one-line error that would replace a whole list.
    response.headers["HX-Retarget"] = "#toast"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def problem(exc: Problem):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(StorageError)
    def storage_error(exc: StorageError):
        # Not a bug in the app: the person running it can fix the disk, so say what is wrong.
        app.logger.error("%s (while writing %s)", exc, exc.path)
        return error_response(503, CODES[503], str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        message = exc.description if code != 500 else "Something went wrong on the server."
        response = make_response(error_response(code, CODES.get(code, "error"), message))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        app.logger.exception("unhandled error on %s", type(exc).__name__)
        return error_response(500, "internal_error", "Something went wrong on the server.")

