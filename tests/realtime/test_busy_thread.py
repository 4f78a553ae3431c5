"""A socket is answered while its process's database thread is busy: frames that need no
database (a ping, a bid under the lot's floor) do not queue behind other sockets' queries."""

from __future__ import annotations

import asyncio
import threading

import pytest

from realtime.tickets import ticket_issue
from tests.realtime.conftest import Socket, run, to_async

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ping_is_answered_while_the_database_thread_is_busy(buyer):
    ticket = ticket_issue(user=buyer).ticket
    release = threading.Event()

    def slow_query() -> None:  # another socket's batch holding the shared database thread
        release.wait(5)

    async def scenario() -> tuple[dict, bool]:
        sock = await Socket(ticket).open()
        busy = asyncio.ensure_future(to_async(slow_query)())
        await asyncio.sleep(0.05)
        await sock.send(type="ping")
        pong = await sock.recv(timeout=1)  # the thread is still busy: answered without it
        still_busy = not busy.done()
        release.set()
        await busy
        await sock.close()
        return pong, still_busy

    pong, still_busy = run(scenario)
    assert pong == {"type": "pong"} and still_busy
