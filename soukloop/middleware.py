import datetime
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
