"""OpenTelemetry, opt-in: one trace per request with its SQL and its Stripe calls inside it, and
a task run from it continues the trace."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from soukloop import tracing
from soukloop.celery import app
from tests.payments.conftest import fake_stripe  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans():
    tracing.init(service_name="soukloop-test", exporter=EXPORTER)
    EXPORTER.clear()
    yield EXPORTER


def test_a_request_is_one_trace_with_its_sql_and_its_stripe_calls(spans, auth_client, seller, fake_stripe):  # noqa: F811
    response = auth_client(seller).post("/api/v1/payments/connect/onboard/")
    assert response.status_code == 200, response.content

    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == trace.SpanKind.SERVER]
    assert "payments/connect/onboard" in server.name
    inside = [s for s in finished if s.context.trace_id == server.context.trace_id and s is not server]
    sql = [s for s in inside if s.attributes.get("db.statement")]
    http = [s for s in inside if s.attributes.get("http.method") or s.attributes.get("http.request.method")]
    assert sql and all(s.parent is not None for s in sql)
    assert any("/v1/accounts" in str(s.attributes.get("http.url") or s.attributes.get("url.full")) for s in http)
    # the statement, never its parameters
    statements = " ".join(s.attributes["db.statement"] for s in sql)
    assert seller.pk.hex not in statements and str(seller.pk) not in statements and seller.email not in statements
    assert server.resource.attributes["service.name"] == "soukloop-test"


@app.task(name="tests.tracing.probe")
def probe() -> str:
    return "ran"


def test_a_task_continues_the_trace_it_was_started_in(spans):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("a request") as parent:
        assert probe.apply().get() == "ran"
    task_spans = [s for s in spans.get_finished_spans() if "tests.tracing.probe" in s.name]
    assert task_spans and task_spans[0].context.trace_id == parent.get_span_context().trace_id
