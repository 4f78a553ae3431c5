"""The payments stand-ins (a local Stripe, signed webhooks, checkout) for paying won lots."""

from tests.payments.conftest import checkout, fake_stripe, post_event  # noqa: F401  (fixtures)
