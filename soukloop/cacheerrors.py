"""What an unreachable Redis raises: redis-py's own errors from raw clients, and django-redis's
``ConnectionInterrupted`` from the cache API. Code that can work without the cache catches
``CACHE_UNAVAILABLE``; the API's exception handler turns the rest into 503s."""

from __future__ import annotations

from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

CACHE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, ConnectionInterrupted)
