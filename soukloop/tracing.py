"""OpenTelemetry tracing, opt-in: on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

One trace per request: the server span (Django's instrumentation, named by route template),
a span per SQL statement (``connection.execute_wrapper``, so PostGIS and SpatiaLite alike, the
statement without its parameters), a span per outgoing HTTP call (the ``requests`` library:
Stripe, Twilio, FCM), and Celery tasks enqueued by the request continue the trace on the
worker (the Celery instrumentation carries the context in the message headers). Spans go to
the OTLP/HTTP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_HEADERS``, the
standard variables); ``OTEL_SERVICE_NAME`` names the service (default ``soukloop``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

_enabled = False


def init(*, service_name: str = "soukloop", exporter: Any = None) -> None:
    """Install the tracer provider and the instrumentations (once). ``exporter`` replaces the
    OTLP exporter (tests pass an in-memory one, exported synchronously)."""
    global _enabled
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if _enabled:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(is_sql_commentor_enabled=False)
    RequestsInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    _enabled = True


def _trace_sql(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    from opentelemetry import trace

    tracer = trace.get_tracer("soukloop.db")
    with tracer.start_as_current_span(
        sql.split(None, 1)[0].upper() if sql else "SQL",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": connection.vendor, "db.statement": sql[:2000]},
    ):
        return execute(sql, params, many, context)


class TracingMiddleware:
    """A span per SQL statement of the request, inside its server span (only when tracing is on)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _enabled:
            return self.get_response(request)
        with connection.execute_wrapper(_trace_sql):
            return self.get_response(request)
