"""Error pages outside DRF views still answer in the contract's shape."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt


def _error(status: int, error_type: str, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": error_type, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def not_found(request, exception=None) -> JsonResponse:
    return _error(404, "client_error", "not_found", _("Not found."))


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Any method on an unknown ``/api/`` path is a 404 in the error shape. The catch-all was
    CSRF-protected, so a POST got Django's 403 HTML page: a client calling an endpoint of a
    newer version could not tell "missing" from "forbidden". Nothing here reads or writes."""
    return not_found(request)


def server_error(request) -> JsonResponse:
    return _error(500, "server_error", "error", _("A server error occurred."))


def bad_request(request, exception=None) -> JsonResponse:
    return _error(400, "client_error", "bad_request", _("Bad request."))


def permission_denied(request, exception=None) -> JsonResponse:
    return _error(403, "client_error", "permission_denied", _("You do not have permission to perform this action."))
