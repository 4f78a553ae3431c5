"""Local stand-ins for Twilio's Messages API and Firebase Cloud Messaging HTTP v1, mounted on
pytest-httpserver (``httpserver.expect_request(re.compile("^/")).respond_with_handler(fake)``)
and driven by the real ``twilio`` and ``google-auth`` clients. Test-only: never imported by
the application.

As strict as the real services where it matters:
- Twilio: HTTP basic auth with the account SID and auth token (401 code 20003 otherwise),
  the account SID in the path must be the one authenticated, ``To`` must be E.164 (400 code
  21211), ``From`` or ``MessagingServiceSid`` required (21603), a body of at most 1,600
  characters (21617); answers 201 with a message SID. ``fail_next`` makes the next calls
  answer 500, as an outage would.
- FCM: the OAuth token endpoint only takes a JWT bearer grant whose assertion is signed by the
  service account's key (RS256, checked with its public key), for the right audience and
  scope; ``messages:send`` needs that access token, a project that matches, a message with a
  ``token``, and string-only ``data``; tokens marked unregistered answer 404 ``UNREGISTERED``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    sent: list[dict[str, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "form": form})
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.account_sid, self.auth_token):
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", request.path)
        if request.method != "POST" or match is None:
            return _json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        if match.group(1) != self.account_sid:
            return _json(403, {"code": 20003, "message": "Account SID mismatch", "status": 403})
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                return _json(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        if not _E164.match(form.get("To", "")):
            return _json(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _json(400, {"code": 21603, "message": "A 'From' phone number is required.", "status": 400})
        if not form.get("Body") or len(form["Body"]) > 1600:
            return _json(
                400,
                {
                    "code": 21617,
                    "message": "The concatenated message body exceeds the 1600 character limit.",
                    "status": 400,
                },
            )
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.sent.append({**form, "Sid": sid})
        return _json(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )


def service_account_file(path: Any, *, token_uri: str, project_id: str = "soukloop-test") -> Any:
    """Write a service-account JSON with a fresh RSA key; returns the public key to check JWTs."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project_id,
                "private_key_id": secrets.token_hex(8),
                "private_key": pem,
                "client_email": f"push@{project_id}.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": token_uri,
            }
        )
    )
    return key.public_key()


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class FakeFCM:
    public_key: Any
    project_id: str = "soukloop-test"
    token_uri: str = ""
    unregistered: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    fail_next: int = 0
    _access_tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        if request.path == "/token":
            return self._token(request)
        match = re.fullmatch(r"/v1/projects/([^/]+)/messages:send", request.path)
        if request.method != "POST" or match is None:
            return _json(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found"}})
        bearer = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in self._access_tokens:
            return _json(401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "Invalid credentials"}})
        if match.group(1) != self.project_id:
            return _json(403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Wrong project"}})
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                return _json(503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "Try later"}})
        message = (request.get_json(silent=True) or {}).get("message") or {}
        token = message.get("token")
        data = message.get("data") or {}
        if not token or not all(isinstance(value, str) for value in data.values()):
            return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid message"}})
        if token in self.unregistered:
            return _json(
                404,
                {
                    "error": {
                        "code": 404,
                        "status": "NOT_FOUND",
                        "message": "Requested entity was not found.",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "UNREGISTERED",
                            }
                        ],
                    }
                },
            )
        name = f"projects/{self.project_id}/messages/{secrets.token_hex(8)}"
        with self._lock:
            self.sent.append(message)
        return _json(200, {"name": name})

    def _token(self, request: Request) -> Response:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return _json(400, {"error": "unsupported_grant_type"})
        try:
            header, payload, signature = form["assertion"].split(".")
            self.public_key.verify(
                _b64decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_b64decode(payload))
        except (KeyError, ValueError, InvalidSignature):
            return _json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        # Google checks the audience against its own token endpoint whatever URL was called.
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE or "firebase.messaging" not in claims.get("scope", ""):
            return _json(400, {"error": "invalid_grant", "error_description": "Invalid audience or scope."})
        if claims.get("exp", 0) < time.time():
            return _json(400, {"error": "invalid_grant", "error_description": "Token has expired."})
        access = "ya29." + secrets.token_urlsafe(24)
        with self._lock:
            self._access_tokens.add(access)
        return _json(200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"})
