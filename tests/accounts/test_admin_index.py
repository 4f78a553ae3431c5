"""The admin index puts the moderators' queues first with their pending counts; "View site"
goes somewhere that answers."""

from __future__ import annotations

import pytest
from django.test import Client

from messaging.models import Report
from tests.factories import UserFactory
from tests.verification.factories import VerificationFactory
from verification.models import SubmissionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def mod_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def test_the_queues_come_first_with_their_counts(mod_client, buyer, seller):
    VerificationFactory()
    VerificationFactory()
    VerificationFactory(status=SubmissionStatus.APPROVED)
    Report.objects.create(reporter=buyer, target_type="user", target_id=seller.pk, reported_user=seller, reason="spam")

    html = mod_client.get("/admin/").content.decode()

    queues = html.index('id="moderation-queues"')
    assert queues < html.index('class="app-accounts')  # before the model list
    section = html[queues : html.index("</table>", queues)]
    assert "Verification submissions to review" in section and "2 waiting" in section
    assert "Open reports" in section and "1 waiting" in section
    assert "/admin/messaging/report/?status__exact=open" in section
    assert section.index("Verification submissions") < section.index("Open reports")


def test_staff_without_the_queue_permissions_see_no_queues():
    clerk = UserFactory(username="clerk", is_staff=True)
    client = Client()
    client.force_login(clerk)

    html = client.get("/admin/").content.decode()

    assert 'id="moderation-queues"' not in html


def test_view_site_goes_somewhere_real(mod_client):
    html = mod_client.get("/admin/").content.decode()

    assert 'href="/api/docs/"' in html
    assert Client().get("/api/docs/").status_code == 200


def test_the_admin_speaks_arabic(mod_client, buyer, seller):
    Report.objects.create(reporter=buyer, target_type="user", target_id=seller.pk, reported_user=seller, reason="spam")

    index = mod_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    reports = mod_client.get("/admin/messaging/report/?status__exact=open", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    queue = mod_client.get("/admin/verification/verification/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()

    assert 'dir="rtl"' in index
    assert "البلاغات المفتوحة" in index and "إشراف سوق لوب" in index  # queue and site header
    assert "طلبات التحقق" in index  # a model name
    assert "البلاغات: 1 مفتوحة" in reports  # the title
    assert "المستخدم المُبلَّغ عنه" in reports  # a list column from a field label
    assert "معالجة البلاغات المحددة" in reports or "Resolve selected" not in reports  # an action name
    assert "تاريخ التقديم" in queue  # a filter title from a field label
