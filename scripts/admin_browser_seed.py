"""Demo data for scripts/admin-browser-check.sh (run through ``manage.py shell``): a moderator
with a known TOTP key, one without a device, reports on a listing/user/message and pending
verification submissions with phone-photo-sized ID images. Never run against a real database."""

import io
from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.roles import MODERATORS_GROUP, sync_moderators_group
from messaging.models import Conversation, Message, Report
from tests.factories import ProductFactory, SellerFactory, UserFactory
from tests.verification.factories import TradeLicenceVerificationFactory, VerificationFactory, valid_emirates_id
from verification.models import Verification

TOTP_KEY = "3132333435363738393031323334353637383930"  # the RFC 6238 test key, hex
PASSWORD = "browser-check-Pass-1"  # noqa: S105 - a throwaway demo database


def id_photo(color: str, label: str) -> ContentFile:
    image = Image.new("RGB", (1012, 638), color)
    ImageDraw.Draw(image).text((40, 40), label, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return ContentFile(buffer.getvalue(), name=f"{label}.jpg")


sync_moderators_group()
moderators = Group.objects.get(name=MODERATORS_GROUP)
for username, device in (("mod_sara", True), ("mod_new", False)):
    mod = User.objects.create_user(
        username=username,
        email=f"{username}@soukloop.ae",
        password=PASSWORD,
        is_staff=True,
        full_name="Sara Al Mansoori",
    )
    mod.groups.add(moderators)
    if device:
        TOTPDevice.objects.create(user=mod, name="phone", key=TOTP_KEY, confirmed=True)

seller = SellerFactory(username="omar_kicks", full_name="Omar Haddad", email="omar@example.ae")
buyer = UserFactory(username="layla", full_name="Layla Nasser")
other = UserFactory(username="hamdan", full_name="Hamdan Al Falasi")
product = ProductFactory(
    seller=seller,
    title="Jordan 1 Retro High OG 'Chicago' — size 43, worn twice, original box and receipt",
    image_urls=["/static/admin/img/icon-yes.svg"],
)
conversation = Conversation.objects.create(buyer=buyer, seller=seller, product=product)
message = Message.objects.create(
    conversation=conversation, sender=seller, content="Pay me by bank transfer outside the app"
)
for reporter in (buyer, other):
    Report.objects.create(
        reporter=reporter,
        target_type="product",
        target_id=product.pk,
        reported_user=seller,
        reason="counterfeit",
        note="The logo stitching is wrong; looks fake.",
    )
Report.objects.create(reporter=buyer, target_type="user", target_id=seller.pk, reported_user=seller, reason="scam")
Report.objects.create(
    reporter=buyer,
    target_type="message",
    target_id=message.pk,
    reported_user=seller,
    reason="scam",
)

for i, name in enumerate(["Mohammed Abdullah Al Shamsi", "Fatima Rashid", "Aisha Karim Al Marzouqi"]):
    applicant = SellerFactory(username=f"applicant{i}", full_name=name)
    v = VerificationFactory(
        user=applicant,
        number=valid_emirates_id(serial=1234521 + i * 1000),
        emirates_id_front=id_photo("teal", f"front-{i}"),
        emirates_id_back=id_photo("navy", f"back-{i}"),
    )
    Verification.objects.filter(pk=v.pk).update(submitted_at=timezone.now() - timedelta(hours=30 - i * 10))
TradeLicenceVerificationFactory(user=SellerFactory(username="trader", full_name="Khalid Trading LLC"))
print("seeded")  # noqa: T201
