"""Firebase Cloud Messaging, HTTP v1: the service account's signed JWT is exchanged for an
OAuth access token (google-auth, at the ``token_uri`` the service-account file names), which
authorises ``POST {FCM_API_BASE}/v1/projects/{project}/messages:send``.

Errors: 404 ``UNREGISTERED`` (or 400 ``INVALID_ARGUMENT`` naming the token) means the device
is gone (``TokenGone``: the caller deletes it); 429 and 5xx are retried by the caller; a 401
refreshes the access token once.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import requests
from django.conf import settings
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account

from notifications.push import BasePushBackend, PushMessage, TokenGone

SCOPES = ["https://www.googleapis.com/auth/firebase.messaging"]
TIMEOUT_SECONDS = 10


class FCMError(Exception):
    """FCM refused or failed; worth another attempt later."""


@functools.lru_cache(maxsize=4)
def _credentials(path: str) -> service_account.Credentials:
    return service_account.Credentials.from_service_account_file(path, scopes=SCOPES)


def _project_id(path: str) -> str:
    if settings.FCM_PROJECT_ID:
        return settings.FCM_PROJECT_ID
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["project_id"]


class FCMPushBackend(BasePushBackend):
    def __init__(self) -> None:
        path = settings.FCM_SERVICE_ACCOUNT_FILE
        if not path:
            raise FCMError("FCM_SERVICE_ACCOUNT_FILE is not set")
        self.credentials = _credentials(path)
        self.url = f"{settings.FCM_API_BASE.rstrip('/')}/v1/projects/{_project_id(path)}/messages:send"

    def _token(self, *, refresh: bool = False) -> str:
        if refresh or not self.credentials.valid:
            self.credentials.refresh(GoogleRequest())
        return str(self.credentials.token)

    def _post(self, body: dict[str, Any], *, refresh: bool = False) -> requests.Response:
        return requests.post(
            self.url,
            json=body,
            headers={"Authorization": f"Bearer {self._token(refresh=refresh)}"},
            timeout=TIMEOUT_SECONDS,
        )

    def send(self, message: PushMessage) -> str:
        body = {
            "message": {
                "token": message.token,
                "notification": {"title": message.title, "body": message.body},
                "data": message.data,
                "android": {"priority": "high"},
                "apns": {"payload": {"aps": {"sound": "default"}}},
            }
        }
        response = self._post(body)
        if response.status_code == 401:  # an access token revoked early: get a new one, once
            response = self._post(body, refresh=True)
        if response.status_code == 200:
            return str(response.json().get("name", ""))
        status = _error_status(response)
        if response.status_code == 404 or status == "UNREGISTERED":
            raise TokenGone(status or "UNREGISTERED")
        if response.status_code == 400 and status == "INVALID_ARGUMENT" and "token" in response.text.lower():
            raise TokenGone("INVALID_ARGUMENT")
        raise FCMError(f"FCM answered {response.status_code} {status}".strip())


def _error_status(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    for detail in error.get("details", []) or []:
        if detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))
