"""A small in-memory stand-in for the parts of the Stripe API Souk Loop uses.

Used two ways:
- in tests, mounted on pytest-httpserver: ``httpserver.expect_request(re.compile("^/")).respond_with_handler(fake)``;
- standalone for demos/walkthroughs: ``python -m payments.testing.fake_stripe --port 12111
  --webhook-url http://127.0.0.1:8105/api/v1/payments/webhook/`` then point ``STRIPE_API_BASE`` at it.
  ``POST /_stand_in/payment_intents/<id>/succeed`` (or ``/fail``) plays the buyer paying and
  delivers the signed webhook, as Stripe would.

It records every request (method, path, form params, idempotency key) so tests can assert
what was sent, and is as strict as Stripe where that matters:
- idempotency: the first answer under a key is stored, errors (a 500 included) too, and
  replayed for every later request with that key; the same key with other parameters is a
  400 ``idempotency_error``; a request arriving while the first with its key still runs is a
  409 (``in_flight`` lets a test hold one open);
- AED amounts from 2.00 to 999,999.99 (``amount_too_small`` / ``amount_too_large``);
- transfers only to accounts whose ``transfers`` capability is active, never more than the
  source charge, and reversals never more than what is left of the transfer (and refused
  with ``balance_insufficient`` for an account marked short);
- refunds with amounts, never more than what is left of the charge;
- account links only with https URLs;
- lists by ``transfer_group`` / ``payment_intent``, and signed ``charge.*`` and dispute events.
Test-only: never imported by the application.
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from stripe import WebhookSignature
from werkzeug.wrappers import Request, Response


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None
    authorization: str | None


def _metadata(params: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")}


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass
class FakeStripe:
    webhook_secret: str = "whsec_soukloop_local"  # noqa: S105 (the dev default in settings, not a secret)
    webhook_url: str | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (method, path prefix) → HTTP status to answer the next matching request with.
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    reversals: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Intents whose charge has a dispute: Stripe refuses to refund those (charge_disputed).
    disputed: set[str] = field(default_factory=set)
    # What the buyer pays with next (``card``, ``apple_pay`` is a card wallet, ``link``...).
    next_payment_method: str = "card"
    # Connected accounts whose Stripe balance cannot cover a reversal.
    short_balance: set[str] = field(default_factory=set)
    api_version: str = "2026-10-28.endive"
    # Keys whose first request is still "running" (a test sets one to see the 409).
    in_flight: set[str] = field(default_factory=set)
    _idempotent: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=dict)
    _idempotent_path: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests look at -------------------------------------------------------------
    def calls(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def fail_next(self, method: str, path_prefix: str, status: int = 500) -> None:
        self.failures[(method, path_prefix)] = status

    # --- the HTTP side ------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        params = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            params=params,
            idempotency_key=request.headers.get("Idempotency-Key"),
            authorization=request.headers.get("Authorization"),
        )
        with self._lock:
            self.requests.append(record)
            if not (record.authorization or "").startswith("Bearer sk_"):
                return self._error(401, "authentication_error", "No valid API key provided.")
            cache_key = record.idempotency_key if request.method == "POST" else None
            if cache_key in self.in_flight:
                return self._error(409, "idempotency_error", "A request with this key is in progress.")
            if cache_key and cache_key in self._idempotent:
                status, body, first_params = self._idempotent[cache_key]
                if first_params != params or self._idempotent_path.get(cache_key) != request.path:
                    return self._error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    )
                return self._json(body, status, replayed=True)
            status, body = None, None
            for (method, prefix), fail_status in list(self.failures.items()):
                if method == request.method and request.path.startswith(prefix):
                    del self.failures[(method, prefix)]
                    status, body = fail_status, {"error": {"type": "api_error", "message": "Simulated failure."}}
                    break
            if status is None:
                status, body = self._route(request.method, request.path, params)
            if cache_key:  # Stripe stores the first answer, errors included
                self._idempotent[cache_key] = (status, body, dict(params))
                self._idempotent_path[cache_key] = request.path
        return self._json(body, status)

    def _json(self, body: dict[str, Any], status: int = 200, *, replayed: bool = False) -> Response:
        response = Response(json.dumps(body), status=status, content_type="application/json")
        response.headers["Request-Id"] = _id("req")
        response.headers["Stripe-Version"] = self.api_version
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    def _error(self, status: int, kind: str, message: str, code: str | None = None) -> Response:
        error = {"type": kind, "message": message}
        if code:
            error["code"] = code
        response = self._json({"error": error}, status)
        response.headers["Stripe-Should-Retry"] = "false"
        return response

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:1] == ["_stand_in"] and len(parts) == 4 and parts[1] == "payment_intents":
            outcome = self.settle(parts[2], succeed=parts[3] == "succeed")
            return (200, outcome) if outcome else (404, {"error": {"type": "invalid_request_error"}})
        if parts[:1] == ["_stand_in"] and len(parts) == 4 and parts[1] == "accounts" and parts[3] == "complete":
            outcome = self.complete_onboarding(parts[2])
            return (200, outcome) if outcome else (404, {"error": {"type": "invalid_request_error"}})
        if parts[:1] != ["v1"]:
            return 404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}}
        resource, rest = parts[1], parts[2:]
        handler = getattr(self, f"_{method.lower()}_{resource}", None)
        if handler is None:
            return 404, {"error": {"type": "invalid_request_error", "message": f"Unknown {resource}"}}
        return handler(rest, params)

    def _missing(self, kind: str, object_id: str) -> tuple[int, dict[str, Any]]:
        return 404, {
            "error": {"type": "invalid_request_error", "code": "resource_missing", "message": f"No such {kind}"}
        }

    # accounts
    def _post_accounts(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        account = {
            "id": _id("acct"),
            "object": "account",
            "type": params.get("type", "express"),
            "country": params.get("country"),
            "email": params.get("email"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "capabilities": {"transfers": "inactive"},
            "requirements": {
                "currently_due": ["external_account", "individual.id_number"],
                "past_due": [],
                "disabled_reason": "requirements.past_due",
            },
            "metadata": _metadata(params),
        }
        self.accounts[account["id"]] = account
        return 200, account

    def _get_accounts(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        account = self.accounts.get(rest[0]) if rest else None
        return (200, account) if account else self._missing("account", rest[0] if rest else "")

    def _post_account_links(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params.get("account") not in self.accounts:
            return self._missing("account", params.get("account", ""))
        for name in ("refresh_url", "return_url"):
            if not str(params.get(name, "")).startswith("https://"):
                return self._invalid(f"Not a valid URL: {name} must be an https URL.", param=name, code="url_invalid")
        return 200, {
            "object": "account_link",
            "url": f"https://connect.stripe.com/setup/e/{params['account']}/{secrets.token_urlsafe(12)}",
            "expires_at": int(time.time()) + 300,
            "created": int(time.time()),
        }

    # payment intents
    def _post_payment_intents(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if rest:
            intent = self.payment_intents.get(rest[0])
            if intent is None:
                return self._missing("payment_intent", rest[0])
            if rest[1:] == ["cancel"]:
                if intent["status"] in ("succeeded", "canceled", "processing"):
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "payment_intent_unexpected_state",
                            "message": f"This PaymentIntent's status is {intent['status']}.",
                        }
                    }
                intent["status"] = "canceled"
                intent["cancellation_reason"] = params.get("cancellation_reason")
            return 200, intent
        amount = int(params["amount"])
        if amount < 200:
            return self._invalid("Amount must be at least 2.00 aed.", param="amount", code="amount_too_small")
        if amount > 99_999_999:
            return self._invalid("Amount must be no more than 999,999.99 aed.", param="amount", code="amount_too_large")
        intent_id = _id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "currency": params["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "transfer_group": params.get("transfer_group"),
            "metadata": _metadata(params),
            "payment_method_types": ["card"],
            "latest_charge": None,
            "created": int(time.time()),
        }
        self.payment_intents[intent_id] = intent
        return 200, intent

    def _get_charges(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(rest[0]) if rest else None
        return (200, charge) if charge else self._missing("charge", rest[0] if rest else "")

    def _get_payment_intents(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent = self.payment_intents.get(rest[0]) if rest else None
        return (200, intent) if intent else self._missing("payment_intent", rest[0] if rest else "")

    # transfers, reversals and refunds
    def _invalid(
        self, message: str, *, param: str | None = None, code: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
        if param:
            error["param"] = param
        if code:
            error["code"] = code
        return 400, {"error": error}

    def _list(self, items: list[dict[str, Any]], url: str) -> tuple[int, dict[str, Any]]:
        return 200, {"object": "list", "data": items, "has_more": False, "url": url}

    def _charge_intent(self, charge_id: str | None) -> dict[str, Any] | None:
        return next((i for i in self.payment_intents.values() if i.get("latest_charge") == charge_id), None)

    def _post_transfers(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if rest:
            return self._post_transfer_reversals(rest, params)
        account = self.accounts.get(params.get("destination", ""))
        if account is None:
            return self._missing("account", params.get("destination", ""))
        if (account.get("capabilities") or {}).get("transfers") != "active":
            return self._invalid(
                "Your destination account needs to have the transfers capability enabled.",
                param="destination",
                code="insufficient_capabilities_for_transfer",
            )
        amount = int(params["amount"])
        source = self._charge_intent(params.get("source_transaction"))
        if params.get("source_transaction") and (source is None or amount > source["amount_received"]):
            return self._invalid("Transfer exceeds the source charge.", param="amount", code="amount_too_large")
        transfer = {
            "id": _id("tr"),
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "currency": params["currency"],
            "destination": params["destination"],
            "transfer_group": params.get("transfer_group"),
            "source_transaction": params.get("source_transaction"),
            "metadata": _metadata(params),
            "reversed": False,
        }
        self.transfers[transfer["id"]] = transfer
        return 200, transfer

    def _get_transfers(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if rest:
            transfer = self.transfers.get(rest[0])
            return (200, transfer) if transfer else self._missing("transfer", rest[0])
        group = params.get("transfer_group")
        found = [t for t in self.transfers.values() if group is None or t["transfer_group"] == group]
        return self._list(found, "/v1/transfers")

    def _post_transfer_reversals(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        transfer = self.transfers.get(rest[0])
        if transfer is None or rest[1:] != ["reversals"]:
            return self._missing("transfer", rest[0])
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = int(params.get("amount", left))
        if amount <= 0 or amount > left:
            return self._invalid("Reversal exceeds what is left of the transfer.", param="amount")
        if transfer["destination"] in self.short_balance:
            return self._invalid(
                "Insufficient funds in the connected account to reverse this transfer.", code="balance_insufficient"
            )
        reversal = {
            "id": _id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "transfer": transfer["id"],
            "metadata": _metadata(params),
        }
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        self.reversals[reversal["id"]] = reversal
        return 200, reversal

    def _post_refunds(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent = self.payment_intents.get(params.get("payment_intent", ""))
        if intent is None:
            return self._missing("payment_intent", params.get("payment_intent", ""))
        if intent["status"] != "succeeded":
            return 400, {"error": {"type": "invalid_request_error", "code": "charge_not_captured"}}
        if intent["id"] in self.disputed:
            return self._invalid("This charge has been disputed; it cannot be refunded.", code="charge_disputed")
        already = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
        left = intent["amount_received"] - already
        amount = int(params.get("amount", left))
        if amount <= 0 or amount > left:
            return self._invalid(
                "Refund amount is greater than unrefunded amount on charge.", param="amount", code="amount_too_large"
            )
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "succeeded",
            "metadata": _metadata(params),
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    def _get_refunds(self, rest: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent_id = params.get("payment_intent")
        found = [r for r in self.refunds.values() if intent_id is None or r["payment_intent"] == intent_id]
        return self._list(found, "/v1/refunds")

    # --- Stripe's events for money moved outside our requests ------------------------------
    def charge_of(self, intent_id: str) -> dict[str, Any]:
        """The charge object (as events carry it) of a paid intent, with its refunds so far."""
        intent = self.payment_intents[intent_id]
        refunds = [r for r in self.refunds.values() if r["payment_intent"] == intent_id]
        refunded = sum(r["amount"] for r in refunds)
        return {
            "id": intent["latest_charge"],
            "object": "charge",
            "amount": intent["amount_received"],
            "amount_refunded": refunded,
            "refunded": refunded == intent["amount_received"],
            "currency": intent["currency"],
            "payment_intent": intent_id,
            "refunds": {"object": "list", "data": refunds},
        }

    def refund_in_dashboard(self, intent_id: str, amount: int | None = None) -> dict[str, Any] | None:
        """Someone refunds in Stripe's dashboard: the refund exists, then ``charge.refunded``
        (``None`` when Stripe would refuse it, e.g. a disputed charge)."""
        status, _body = self._post_refunds(
            [], {"payment_intent": intent_id, **({"amount": str(amount)} if amount else {})}
        )
        if status != 200:
            return None
        return self.event("charge.refunded", self.charge_of(intent_id))

    def dispute_event(self, intent_id: str, event_type: str, *, status: str = "needs_response") -> dict[str, Any]:
        intent = self.payment_intents[intent_id]
        self.disputed.add(intent_id)
        dispute = {
            "id": "dp_" + intent_id[3:],
            "object": "dispute",
            "amount": intent["amount_received"],
            "charge": intent["latest_charge"],
            "payment_intent": intent_id,
            "currency": intent["currency"],
            "status": status,
        }
        return self.event(event_type, dispute)

    # --- playing Stripe's side: payments and events --------------------------------------
    def settle(self, intent_id: str, *, succeed: bool = True) -> dict[str, Any] | None:
        """The buyer pays (or the card is declined): update the intent, build (and deliver) the event."""
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            return None
        if succeed:
            charge_id = _id("ch")
            intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge_id)
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "payment_intent": intent_id,
                "payment_method_details": {
                    "type": self.next_payment_method,
                    "card": {"brand": "visa", "last4": "4242"},
                },
            }
            event = self.event("payment_intent.succeeded", intent)
        else:
            intent.update(status="requires_payment_method", last_payment_error={"code": "card_declined"})
            event = self.event("payment_intent.payment_failed", intent)
        if self.webhook_url:
            threading.Thread(target=self.deliver, args=(event,), daemon=True).start()
        return event

    def complete_onboarding(self, account_id: str) -> dict[str, Any] | None:
        """The seller finishes Stripe's hosted onboarding: the account can take charges and payouts."""
        account = self.accounts.get(account_id)
        if account is None:
            return None
        account.update(
            charges_enabled=True,
            payouts_enabled=True,
            details_submitted=True,
            capabilities={"transfers": "active"},
            requirements={"currently_due": [], "past_due": [], "disabled_reason": None},
        )
        event = self.event("account.updated", account)
        if self.webhook_url:
            threading.Thread(target=self.deliver, args=(event,), daemon=True).start()
        return event

    def event(self, event_type: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        return {
            "id": _id("evt"),
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "livemode": False,
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def sign(self, payload: str, *, timestamp: int | None = None) -> str:
        return WebhookSignature.generate_signature_header(payload, self.webhook_secret, timestamp)

    def deliver(self, event: dict[str, Any]) -> int:
        payload = json.dumps(event)
        request = urllib.request.Request(  # noqa: S310 (a URL given on the command line)
            self.webhook_url or "",
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": self.sign(payload)},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status


def main() -> None:
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="whsec_soukloop_local")
    args = parser.parse_args()
    fake = FakeStripe(webhook_secret=args.webhook_secret, webhook_url=args.webhook_url)
    run_simple(args.host, args.port, Request.application(fake), threaded=True)


if __name__ == "__main__":
    main()
