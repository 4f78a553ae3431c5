"""Work a response does not have to wait for: run once its bytes have been sent.

``after_response(fn)`` during a request keeps ``fn`` until the response is closed, which every
server does after it has written the body (gunicorn's sync and gthread workers, Django's ASGI
handler, the test client); outside a request (a command, a task, a test calling a service) it
runs ``fn`` at once. ``AfterResponseMiddleware`` (first in ``MIDDLEWARE``) opens the request's
list and runs it from the response's ``close()``, before Django's own closers (so a callback may
still use the request's database connection, which ``request_finished`` then closes).

Only for work whose loss or lateness the user cannot notice: the caller must cope with it not
having happened yet (the next request may arrive first) or at all (a callback that fails is
logged and dropped; the response has gone). The personalised Discover feed keeps its ranking
this way: a second page that finds no snapshot ranks again at its offset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

_pending: ContextVar[list[Callable[[], None]] | None] = ContextVar("soukloop_after_response", default=None)


def after_response(fn: Callable[[], None]) -> None:
    """Run ``fn`` once this request's response has been sent; outside a request, now."""
    pending = _pending.get()
    if pending is None:
        fn()
    else:
        pending.append(fn)


def _run(pending: list[Callable[[], None]]) -> None:
    for fn in pending:
        try:
            fn()
        except Exception:
            logger.exception("after-response work failed", extra={"work": getattr(fn, "__qualname__", "?")})


class AfterResponseMiddleware:
    """Collects the request's ``after_response`` work and runs it when the response is closed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        pending: list[Callable[[], None]] = []
        token = _pending.set(pending)
        try:
            response = self.get_response(request)
        except BaseException:
            _run(pending)  # no response will be closed: do it now
            raise
        finally:
            _pending.reset(token)
        if pending:
            close = response.close

            def close_after_work() -> None:
                try:
                    _run(pending)
                finally:
                    close()

            response.close = close_after_work  # type: ignore[method-assign]
        return response
