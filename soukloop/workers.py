"""The gunicorn worker class of the ASGI service (``make serve``, the Docker image).

uvicorn's worker with the sans-I/O WebSocket implementation and without permessage-deflate:
our frames are small JSON objects, and compressing each one once per socket cost a
2,000-viewer room's fan-out 40% of its time (p50 256 → 149 ms) and every socket 35 KB of zlib
state (85 → 50 KB per socket), measured with bench/realtime.py.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker as _UvicornWorker


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS: dict[str, Any] = {
        **_UvicornWorker.CONFIG_KWARGS,
        "ws": "websockets-sansio",
        "ws_per_message_deflate": False,
    }
