"""The API's bearer tokens: simplejwt's ``JWTAuthentication``, with the token's person read by
a statement built once per process.

Every signed-in request reads its person. Through the ORM, ``User.objects.get(id=...)`` built
and compiled the 28-column statement each time: 0.57 ms in process on PostgreSQL, of which the
database took 0.05 ms. Compiled once (``soukloop.compiled``) and turned into a ``User`` with the
model's own ``from_db``, it takes 0.27-0.30 ms, every field identical (type and value,
location included). A lookup by primary key has one plan whatever the id, so the statement is
also prepared on the server (``soukloop.compiled``, ``prepared=True``).

simplejwt still makes every decision: the token's checks, and, in its ``get_user``, the user
missing, inactive (suspended) or with a changed password. Only the ``user_model`` it reads from is
swapped for ``_UsersById``, which answers the one lookup it makes. On other databases (the
embedded SpatiaLite) the ORM serves it as before: the compiled statement's rows would need that
backend's own value converters. On both, a signed token whose id is not an id at all is "user not
found" (a 401), not the ORM's 400.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Field
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication

from accounts.models import User
from soukloop import compiled

_COLUMNS = tuple(field.attname for field in User._meta.concrete_fields)


class _UsersById:
    """What simplejwt's ``get_user`` asks of the user model: ``objects.get(<USER_ID_FIELD>=value)``
    and ``DoesNotExist``."""

    DoesNotExist = User.DoesNotExist

    @property
    def objects(self) -> _UsersById:
        return self

    def get(self, **lookup: Any) -> User:
        ((name, value),) = lookup.items()
        field = User._meta.get_field(name)  # USER_ID_FIELD: a column of the user model
        if not isinstance(field, Field):
            raise TypeError(f"{name} is not a column of the user model.")

        def build() -> Any:
            return User.objects.filter(**{name: compiled.Param(name, field)}).values(*_COLUMNS)

        try:
            if connection.vendor != "postgresql":
                return User.objects.get(**lookup)
            rows = compiled.statement(("token-user", name), build, prepared=True).rows({name: value})
        except ValidationError as exc:  # not an id at all (a token can only carry one if forged)
            raise User.DoesNotExist from exc
        if not rows:
            raise User.DoesNotExist
        (row,) = rows  # the id field is unique
        return User.from_db(connection.alias, list(row), list(row.values()))


_USERS_BY_ID = _UsersById()


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer-token authentication, its person read through ``_UsersById``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_model = _USERS_BY_ID  # type: ignore[assignment]


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme (``jwtAuth``) of simplejwt's class, for this subclass."""

    target_class = "accounts.authentication.JWTAuthentication"
