"""Work kept for after the response: the client has the whole response before it runs; it
runs before Django's own end of the request; a failure is logged and leaves the rest to run."""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading
from wsgiref.simple_server import make_server

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import path

from soukloop.afterresponse import AfterResponseMiddleware, after_response

released = threading.Event()
events: list[str] = []


def page(request: HttpRequest) -> HttpResponse:
    def work() -> None:
        events.append("work after the client had the page" if released.wait(5) else "work before the page was sent")

    after_response(work)
    return HttpResponse("the page")


urlpatterns = [path("after/", page)]


def test_outside_a_request_the_work_runs_at_once():
    done = []

    after_response(lambda: done.append(1))

    assert done == [1]


def test_over_a_real_server_the_client_has_the_whole_page_before_the_work_runs(settings):
    settings.ROOT_URLCONF = __name__  # the project's middleware, this module's page
    released.clear()
    events.clear()
    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=WSGIServer, handler_class=WSGIRequestHandler)
    serving = threading.Thread(target=server.handle_request)
    serving.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        conn.request("GET", "/after/")
        response = conn.getresponse()
        body = response.read()  # the work is still waiting: this returns only if the page was sent first
        assert (response.status, body, events) == (200, b"the page", [])
        released.set()
        serving.join(timeout=10)
    finally:
        released.set()
        server.server_close()

    assert events == ["work after the client had the page"]


@pytest.mark.usefixtures("keep_connections_across_requests")
def test_under_asgi_the_work_runs_once_the_body_has_been_sent(settings):
    # production serves ASGI (uvicorn workers): Django's ASGI handler closes the response after
    # sending its body
    settings.ROOT_URLCONF = __name__
    released.set()  # the page's work need not wait here: the order of the messages tells
    events.clear()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/after/",
        "raw_path": b"/after/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def call() -> None:
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body":
                events.append(f"body sent: {message['body'].decode()}")

        await ASGIHandler()(scope, receive, send)

    asyncio.run(call())

    assert events == ["body sent: the page", "work after the client had the page"]


@pytest.mark.usefixtures("keep_connections_across_requests")
def test_the_work_runs_when_the_response_is_closed_before_request_finished():
    order: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        after_response(lambda: order.append("first"))
        after_response(lambda: order.append("second"))
        order.append("view")
        return HttpResponse("ok")

    def finished(**kwargs: object) -> None:
        order.append("request_finished")

    response = AfterResponseMiddleware(view)(RequestFactory().get("/"))
    assert order == ["view"]

    request_finished.connect(finished)
    try:
        response.close()
    finally:
        request_finished.disconnect(finished)

    assert order == ["view", "first", "second", "request_finished"]


@pytest.mark.usefixtures("keep_connections_across_requests")
def test_a_failing_piece_of_work_is_logged_and_the_rest_still_runs(caplog):
    order: list[str] = []

    def broken() -> None:
        raise RuntimeError("cache down")

    def view(request: HttpRequest) -> HttpResponse:
        after_response(broken)
        after_response(lambda: order.append("next"))
        return HttpResponse("ok")

    response = AfterResponseMiddleware(view)(RequestFactory().get("/"))
    with caplog.at_level(logging.ERROR, logger="soukloop.afterresponse"):
        response.close()

    assert order == ["next"]
    assert [record.message for record in caplog.records] == ["after-response work failed"]


def test_a_request_without_work_keeps_its_response_as_it_was():
    response = HttpResponse("ok")

    assert AfterResponseMiddleware(lambda request: response)(RequestFactory().get("/")) is response
    assert "close" not in vars(response)  # its own close(), not a wrapper


@pytest.mark.usefixtures("keep_connections_across_requests")
def test_work_from_one_request_never_runs_with_another():
    order: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        after_response(lambda: order.append(request.path))
        return HttpResponse("ok")

    middleware = AfterResponseMiddleware(view)
    first = middleware(RequestFactory().get("/first"))
    second = middleware(RequestFactory().get("/second"))
    second.close()
    first.close()

    assert order == ["/second", "/first"]
    after_response(lambda: order.append("outside"))  # the requests' lists are closed
    assert order == ["/second", "/first", "outside"]


def test_work_kept_by_a_request_that_raised_runs_at_once():
    # a view's exception that no inner handler turned into a response: there is nothing to close
    done: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        after_response(lambda: done.append("work"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        AfterResponseMiddleware(view)(RequestFactory().get("/"))

    assert done == ["work"]
