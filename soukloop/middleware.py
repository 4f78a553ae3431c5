import datetime
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone


class ApiTimezoneMiddleware:
    """The API speaks UTC (the contract's ISO-8601 UTC timestamps, ``...Z``); the admin keeps
    ``TIME_ZONE`` (Asia/Dubai) for the moderators reading it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            with timezone.override(datetime.UTC):
                return self.get_response(request)
        return self.get_response(request)


class RejectNulQueryMiddleware:
    """A NUL character in a query parameter of an API call is a 400 in the contract's error shape,
    for every endpoint at once: no parameter of ours can hold one, and PostgreSQL rejects it in
    text with an error that surfaced as a 500 (``/feeds/community/?neighborhood=%00``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and "\x00" in request.META.get("QUERY_STRING", "") + "".join(
            f"{k}{v}" for k, values in request.GET.lists() for v in values
        ):
            bad = next(
                (k for k, values in request.GET.lists() if "\x00" in k or any("\x00" in v for v in values)), None
            )
            return JsonResponse(
                {
                    "type": "validation_error",
                    "errors": [
                        {"code": "invalid", "detail": "Query parameters may not contain NUL characters.", "attr": bad}
                    ],
                },
                status=400,
            )
        return self.get_response(request)
