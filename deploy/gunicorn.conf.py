"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# `make serve` and the Docker image set soukloop.workers.UvicornWorker with soukloop.asgi: one
# process serves HTTP and the WebSockets of /ws/v1/ (docs/realtime.md). "sync" is for WSGI.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# Path without the query string: media-server hooks carry a secret in it (?secret=, ?key=).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'
errorlog = "-"
# Uploads of up to 200 MB stream through; do not let a slow client hold a worker forever.
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
