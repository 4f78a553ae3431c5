"""The Celery application: background work and the periodic ops on workers.

Broker and result backend come from ``CELERY_BROKER_URL`` (default: ``REDIS_URL``). With no
broker (the embedded default) tasks run eagerly in-process, so ``make run`` stays one
command. Tasks live in each app's ``tasks.py``; the periodic ones are scheduled by Celery
beat from ``CELERY_BEAT_SCHEDULE`` in settings, and stay available as ``manage.py`` commands.

    make worker   # .venv/bin/celery -A soukloop worker
    make beat     # .venv/bin/celery -A soukloop beat
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import before_task_publish, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soukloop.settings")

app = Celery("soukloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _carry_request_id(headers: dict | None = None, **_: object) -> None:
    """The request's X-Request-ID travels with every task it enqueues."""
    from soukloop.logs import request_id_var

    request_id = request_id_var.get()
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _adopt_request_id(task: object = None, **_: object) -> None:
    """…and the task's log lines carry it (``request_id`` in JSON, ``[id]`` in plain text)."""
    from soukloop.logs import request_id_var

    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) or (getattr(request, "headers", None) or {}).get("request_id")
    request_id_var.set(request_id or "")
