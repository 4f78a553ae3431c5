"""The one ASGI application: HTTP (Django) and the WebSocket gateway ``/ws/v1/`` (realtime).

Served by Daphne's ``runserver`` in development (``make run``) and by gunicorn with uvicorn
workers in production (``make serve``, the Docker image): the same process answers both.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soukloop.settings")

# Django first: the routing below imports models.
django_application = get_asgi_application()

from importlib import import_module  # noqa: E402

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

# Named by a setting like ROOT_URLCONF: the kernel wires apps by name, never imports them.
websocket_urlpatterns = import_module(settings.WEBSOCKET_URLCONF).websocket_urlpatterns

# No session/cookie auth on sockets: a ticket (from a JWT) is the only credential, so a
# foreign page cannot ride a browser's cookies (no Origin check needed).
application = ProtocolTypeRouter({"http": django_application, "websocket": URLRouter(websocket_urlpatterns)})

# The collector, tuned for a process holding thousands of sockets (docs/realtime.md). With
# Python's defaults (700, 10, 10) a 2,000-viewer room had a full collection every ~10 chat
# messages, each a 200-300 ms stall of the event loop (the whole fan-out's p99). What is
# loaded now (Django, the apps, the URL conf) lives as long as the process: frozen out of the
# collector's way. A larger first generation lets a fan-out's short-lived objects die before a
# collection instead of being promoted towards the full one.
gc.freeze()
gc.set_threshold(*settings.GC_THRESHOLDS)
