"""The moderators' review queue: pending first, oldest first; approve or reject in bulk.

Identity documents are reachable only through ``document_view`` (permission
``view_verification_document``, every access audited, streamed from private storage).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.phones import try_normalize_phone
from soukloop import admin_queues
from soukloop.admin_i18n import translate_labels
from soukloop.errors import Conflict
from soukloop.errors import ValidationError as DomainValidationError
from verification import crypto, services
from verification.models import (
    AUTHORITY_EMIRATE,
    DOCUMENT_FIELDS,
    AuditAction,
    Emirate,
    RejectionReason,
    SubmissionStatus,
    Verification,
    VerificationAuditLog,
    VerificationType,
)
from verification.selectors import verification_queue_stats

LONG_WAIT_HOURS = 24
OTHER_REASON = "other"
DOCUMENT_PERMISSION = "verification.view_verification_document"
REVIEW_PERMISSION = "verification.review_verification"


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class EmirateFilter(admin.SimpleListFilter):
    title = _("emirate (trade licence)")
    parameter_name = "emirate"

    def lookups(self, request, model_admin):
        return Emirate.choices

    def queryset(self, request, queryset):
        if self.value() in Emirate.values:
            authorities = [code for code, emirate in AUTHORITY_EMIRATE.items() if emirate == self.value()]
            return queryset.filter(issuing_authority__in=authorities)
        return queryset


# Which common reasons fit which kind of submission (an Emirates ID has no issuing authority
# to confirm, a trade licence no second side).
_ID_REASONS = {
    RejectionReason.UNREADABLE,
    RejectionReason.EXPIRED,
    RejectionReason.SIDE_MISSING,
    RejectionReason.NUMBER_MISMATCH,
    RejectionReason.NAME_MISMATCH,
    RejectionReason.NOT_ORIGINAL,
    RejectionReason.WRONG_DOCUMENT,
    RejectionReason.ID_IN_USE,
}
_LICENCE_REASONS = {
    RejectionReason.UNREADABLE,
    RejectionReason.EXPIRED,
    RejectionReason.NUMBER_MISMATCH,
    RejectionReason.NAME_MISMATCH,
    RejectionReason.NOT_ORIGINAL,
    RejectionReason.WRONG_DOCUMENT,
    RejectionReason.LICENCE_INVALID,
}
REASONS_BY_TYPE: dict[str, set[str]] = {
    VerificationType.EMIRATES_ID: _ID_REASONS,
    VerificationType.TRADE_LICENSE: _LICENCE_REASONS,
    VerificationType.BOTH: _ID_REASONS | _LICENCE_REASONS,
}


def reasons_for(types: set[str]) -> list[tuple[str, str]]:
    """The common reasons that fit every one of these submission types, in the list's order."""
    fitting = set(RejectionReason.values)
    for kind in types:
        fitting &= REASONS_BY_TYPE.get(kind, set(RejectionReason.values))
    return [(value, label) for value, label in RejectionReason.choices if value in fitting]


class RejectForm(forms.Form):
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        choices=[*RejectionReason.choices, (OTHER_REASON, _("Other (type the reason below)"))],
        widget=forms.RadioSelect,
    )
    reason_text = forms.CharField(
        label=_("Reason in your words"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required with “Other”. The person reads it in the app, the email and the SMS."),
    )

    def __init__(self, *args, types: set[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if types:
            self.fields["reason_code"].choices = [
                *reasons_for(types),
                (OTHER_REASON, _("Other (type the reason below)")),
            ]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("reason_code") == OTHER_REASON and not (data.get("reason_text") or "").strip():
            self.add_error("reason_text", _("Type the reason the person will read."))
        return data

    def reason(self) -> tuple[str, str]:
        """(code, text) for ``verification_reject``."""
        code = self.cleaned_data["reason_code"]
        if code == OTHER_REASON:
            return "", self.cleaned_data["reason_text"].strip()
        return code, ""


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = (
        "applicant",
        "verification_type",
        "status",
        "waiting",
        "masked_id_number",
        "issuing_authority",
        "submitted_at",
        "reviewed_by",
    )
    list_display_links = ("applicant",)
    list_filter = (
        "status",
        "verification_type",
        "issuing_authority",
        EmirateFilter,
        "id_on_another_account",
        "submitted_at",
    )
    search_fields = ("user__username", "user__full_name", "user__email", "user__phone")
    search_help_text = _("Name, username, email or phone (05… or +9715…)")
    list_select_related = ("user", "reviewed_by")
    list_per_page = 50
    actions = ("approve_selected", "reject_selected")
    change_form_template = "admin/verification/verification/change_form.html"
    fieldsets = (
        (_("Person"), {"fields": ("user", "contact", "verification_type", "status", "submitted_at", "waiting")}),
        (_("Emirates ID"), {"fields": ("emirates_id_full", "emirates_id_front_preview", "emirates_id_back_preview")}),
        (
            _("Trade licence"),
            {
                "fields": (
                    "trade_license_number",
                    "issuing_authority",
                    "emirate",
                    "licence_expiry",
                    "trade_license_document_preview",
                )
            },
        ),
        (_("Decision"), {"fields": ("reviewed_by", "reviewed_at", "rejection_reason")}),
        (_("History"), {"fields": ("earlier_submissions", "audit_trail")}),
    )
    readonly_fields = (
        "user",
        "contact",
        "verification_type",
        "status",
        "submitted_at",
        "waiting",
        "emirates_id_full",
        "emirates_id_front_preview",
        "emirates_id_back_preview",
        "trade_license_number",
        "issuing_authority",
        "emirate",
        "licence_expiry",
        "trade_license_document_preview",
        "reviewed_by",
        "reviewed_at",
        "rejection_reason",
        "earlier_submissions",
        "audit_trail",
    )

    # --- permissions: submissions come from the app, decisions go through the actions -----
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Verification | None = None) -> bool:
        return False  # nothing here is edited by hand; the decision actions are separate

    def has_delete_permission(self, request: HttpRequest, obj: Verification | None = None) -> bool:
        return request.user.is_superuser

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    # --- the queue ------------------------------------------------------------------------
    def get_ordering(self, request: HttpRequest) -> list:
        pending_first = Case(
            When(status=SubmissionStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return [pending_first.asc(), "submitted_at"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phone = try_normalize_phone(search_term) if any(ch.isdigit() for ch in search_term) else None
        if phone:
            # ``queryset`` already carries the list filters; widen the search within them only.
            found |= queryset.filter(user__phone=phone)
        return found, may_have_duplicates

    @admin.display(description=_("person"), ordering="user__username")
    def applicant(self, obj: Verification) -> str:
        """The person, by name: moderators compare it with the name on the document."""
        if obj.user.full_name:
            return format_html("<bdi>{}</bdi> <small>(<bdi>{}</bdi>)</small>", obj.user.full_name, obj.user.username)
        return obj.user.username

    @admin.display(description=_("waiting"), ordering="submitted_at")
    def waiting(self, obj: Verification) -> str:
        if obj.status != SubmissionStatus.PENDING:
            if obj.reviewed_at:
                return _("decided after %(span)s") % {"span": timesince(obj.submitted_at, obj.reviewed_at)}
            return "—"
        span = timesince(obj.submitted_at, timezone.now())
        if timezone.now() - obj.submitted_at > timedelta(hours=LONG_WAIT_HOURS):
            return format_html('<strong style="color:#ba2121">{}</strong>', span)
        return span

    @admin.display(description=_("Emirates ID"))
    def masked_id_number(self, obj: Verification) -> str:
        """Four digits for moderators (784-****-****412-3), so two submissions whose API mask
        (the last three) collides can be told apart; the API keeps the short mask."""
        digits = obj.emirates_id_last4
        shown = f"784-****-****{digits[:3]}-{digits[3]}" if len(digits) == 4 else "—"
        return format_html('<bdi dir="ltr" style="white-space:nowrap">{}</bdi>', shown)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        stats = verification_queue_stats()
        if stats.pending:
            title = _("Review queue: %(n)s pending, the oldest waiting %(span)s") % {
                "n": stats.pending,
                "span": timesince(stats.oldest_submitted_at, stats.now),
            }
        else:
            title = _("Review queue: nothing pending")
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    # --- the change view (read-only; full ID number and documents behind permissions) -----
    @admin.display(description=_("contact"))
    def contact(self, obj: Verification) -> str:
        return format_html("{} · {}", obj.user.email, obj.user.phone or "—")

    @admin.display(description=_("Emirates ID number"))
    def emirates_id_full(self, obj: Verification) -> str:
        if not obj.emirates_id_number:
            return "—"
        if getattr(obj, "viewer_sees_documents", False):
            return crypto.decrypt(obj.emirates_id_number) or _("(cannot decrypt: key missing)")
        return obj.emirates_id_masked

    @admin.display(description=_("emirate"))
    def emirate(self, obj: Verification) -> str:
        return Emirate(obj.emirate).label if obj.emirate else "—"

    @admin.display(description=_("expiry"))
    def licence_expiry(self, obj: Verification) -> str:
        if not obj.trade_license_expiry:
            return "—"
        days = (obj.trade_license_expiry - timezone.localdate()).days
        if days < 0:
            return format_html('{} <strong style="color:#ba2121">{}</strong>', obj.trade_license_expiry, _("expired"))
        return format_html("{} ({})", obj.trade_license_expiry, _("in %(days)s days") % {"days": days})

    def _preview(self, obj: Verification, field: str) -> str:
        if not getattr(obj, field):
            return "—"
        if not getattr(obj, "viewer_sees_documents", False):
            return _("(you may not view documents)")
        url = reverse("admin:verification_verification_document", args=[obj.pk, field])
        if obj.document_types.get(field, "").startswith("image/"):
            return format_html(
                '<a href="{0}" target="_blank" rel="noopener"><img class="souk-id-preview" src="{0}" alt="{1}"></a>',
                url,
                field.replace("_", " "),
            )
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("Open PDF"))

    @admin.display(description=_("front"))
    def emirates_id_front_preview(self, obj: Verification) -> str:
        return self._preview(obj, "emirates_id_front")

    @admin.display(description=_("back"))
    def emirates_id_back_preview(self, obj: Verification) -> str:
        return self._preview(obj, "emirates_id_back")

    @admin.display(description=_("document"))
    def trade_license_document_preview(self, obj: Verification) -> str:
        return self._preview(obj, "trade_license_document")

    @admin.display(description=_("earlier submissions"))
    def earlier_submissions(self, obj: Verification) -> str:
        earlier = Verification.objects.filter(user_id=obj.user_id).exclude(pk=obj.pk).order_by("-submitted_at")[:20]
        if not earlier:
            return "—"
        return format_html_join(
            "",
            '<div><a href="{}">{} · {} · {}</a> {}</div>',
            (
                (
                    reverse("admin:verification_verification_change", args=[v.pk]),
                    timezone.localtime(v.submitted_at).strftime("%Y-%m-%d %H:%M"),
                    v.get_verification_type_display(),
                    v.get_status_display(),
                    v.rejection_reason,
                )
                for v in earlier
            ),
        )

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj: Verification) -> str:
        entries = VerificationAuditLog.objects.filter(verification_ref=obj.pk).order_by("-at")[:30]
        if not entries:
            return "—"
        return format_html_join(
            "",
            "<div>{} · {} · {} {}</div>",
            (
                (
                    timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor_username or "—",
                    e.get_action_display(),
                    e.detail,
                )
                for e in entries
            ),
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Read by the display methods above, which get no request; per object, so thread-safe.
            obj.viewer_sees_documents = request.user.has_perm(DOCUMENT_PERMISSION)
        return obj

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        obj = self.get_object(request, object_id)
        viewing = obj is not None and request.method == "GET" and self.has_view_permission(request, obj)
        if viewing and obj.viewer_sees_documents and obj.emirates_id_number:
            services.verification_log_access(
                verification=obj, by=request.user, action=AuditAction.VIEWED_DETAILS, ip=client_ip(request)
            )
        extra_context = {
            **(extra_context or {}),
            # The page names the person, not the submission's UUID.
            **(
                {
                    "title": _("Verification of %(name)s") % {"name": obj.user.full_name or obj.user.username},
                    "subtitle": obj.user.full_name or obj.user.username,  # the browser tab, not a UUID
                }
                if obj is not None
                else {}
            ),
            "can_review": self.has_review_permission(request) and obj is not None and obj.status == "pending",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "decision_buttons": [
                ("approve_selected", _("Approve…"), "default", False),
                ("approve_selected", _("Approve & next"), "default", True),
                ("reject_selected", _("Reject…"), "deletelink", False),
                ("reject_selected", _("Reject & next"), "deletelink", True),
            ],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- documents: the only way to see them ----------------------------------------------
    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/document/<str:field>/",
                self.admin_site.admin_view(self.document_view),
                name="verification_verification_document",
            )
        ]
        return custom + super().get_urls()

    def document_view(self, request: HttpRequest, object_id: str, field: str) -> HttpResponse:
        if not request.user.has_perm(DOCUMENT_PERMISSION):
            raise PermissionDenied
        if field not in DOCUMENT_FIELDS:
            raise Http404
        obj = self.get_object(request, object_id)
        if obj is None or not getattr(obj, field):
            raise Http404
        services.verification_log_access(
            verification=obj, by=request.user, action=AuditAction.VIEWED_DOCUMENT, detail=field, ip=client_ip(request)
        )
        document = getattr(obj, field)
        document.open("rb")
        response = FileResponse(document, content_type=obj.document_types.get(field, "application/octet-stream"))
        response["Cache-Control"] = "private, no-store"
        response["Content-Disposition"] = "inline"
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        response["X-Content-Type-Options"] = "nosniff"
        response["Referrer-Policy"] = "no-referrer"
        return response

    # --- decisions ------------------------------------------------------------------------
    def _decide_each(self, request: HttpRequest, queryset: QuerySet, decide, audit: str) -> int:
        done = 0
        for verification in queryset.order_by("submitted_at"):
            try:
                decide(verification)
            except Conflict as exc:
                services.verification_log_access(
                    verification=verification,
                    by=request.user,
                    action=AuditAction.DECISION_REFUSED,
                    detail=exc.code,
                    ip=client_ip(request),
                )
                self.message_user(request, f"{verification.user.username}: {exc.detail}", messages.WARNING)
            else:
                done += 1
                self.log_change(request, verification, audit)  # the moderation log and the History
        return done

    def _next_pending(self, request: HttpRequest, after: list) -> HttpResponse:
        """ "Approve & next" / "Reject & next": the oldest submission still waiting, else the queue."""
        following = (
            Verification.objects.filter(status=SubmissionStatus.PENDING)
            .exclude(pk__in=after)
            .order_by("submitted_at")
            .values_list("pk", flat=True)
            .first()
        )
        if following is None:
            self.message_user(request, _("Nothing else is waiting."), messages.INFO)
            return HttpResponseRedirect(reverse("admin:verification_verification_changelist"))
        return HttpResponseRedirect(reverse("admin:verification_verification_change", args=[following]))

    def _unopened(self, request: HttpRequest, pending: list[Verification]) -> list[Verification]:
        """Submissions whose documents and full number this moderator has not opened."""
        opened = set(
            VerificationAuditLog.objects.filter(
                verification_ref__in=[v.pk for v in pending],
                actor=request.user,
                action__in=[AuditAction.VIEWED_DOCUMENT, AuditAction.VIEWED_DETAILS],
            ).values_list("verification_ref", flat=True)
        )
        return [v for v in pending if v.pk not in opened]

    @admin.action(description=_("Approve selected submissions…"), permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Asks first (one or many), warning about submissions nobody opened the documents or
        full number of; then approves each, audited."""
        if "apply" not in request.POST:
            pending = list(queryset.filter(status=SubmissionStatus.PENDING).select_related("user"))
            context = {
                **self.admin_site.each_context(request),
                "title": _("Approve verification submissions"),
                "opts": self.model._meta,
                "queryset": pending,
                "selected": list(queryset.values_list("pk", flat=True)),
                "unopened": self._unopened(request, pending),
                "then_next": "_next" in request.POST,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/verification/verification/approve.html", context)
        approved = self._decide_each(
            request,
            queryset,
            lambda v: services.verification_approve(verification=v, by=request.user, ip=client_ip(request)),
            audit=str(_("Approved")),
        )
        if approved:
            self.message_user(
                request,
                ngettext("Approved %(n)d submission.", "Approved %(n)d submissions.", approved) % {"n": approved},
                messages.SUCCESS,
            )
        if "_next" in request.POST:
            return self._next_pending(request, list(queryset.values_list("pk", flat=True)))
        return None

    @admin.action(description=_("Reject selected submissions…"), permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        pending = list(queryset.filter(status=SubmissionStatus.PENDING).select_related("user"))
        types = {v.verification_type for v in pending} or set(queryset.values_list("verification_type", flat=True))
        form = RejectForm(request.POST if "apply" in request.POST else None, types=types)
        if "apply" in request.POST and form.is_valid():
            code, text = form.reason()
            try:
                rejected = self._decide_each(
                    request,
                    queryset,
                    lambda v: services.verification_reject(
                        verification=v, by=request.user, code=code, reason=text, ip=client_ip(request)
                    ),
                    audit=str(_("Rejected: %(reason)s") % {"reason": text or RejectionReason(code).label}),
                )
            except DomainValidationError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
                return None
            if rejected:
                self.message_user(
                    request,
                    ngettext("Rejected %(n)d submission.", "Rejected %(n)d submissions.", rejected) % {"n": rejected},
                    messages.SUCCESS,
                )
            if "_next" in request.POST:
                return self._next_pending(request, list(queryset.values_list("pk", flat=True)))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject verification submissions"),
            "opts": self.model._meta,
            "form": form,
            "queryset": pending,
            "already_decided": queryset.exclude(status=SubmissionStatus.PENDING).count(),
            "then_next": "_next" in request.POST,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/verification/verification/reject.html", context)


@admin.register(VerificationAuditLog)
class VerificationAuditLogAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail is append-only."""

    list_display = ("at", "actor_username", "action", "detail", "verification_link", "ip")
    list_filter = ("action", "at")
    search_fields = ("actor_username", "=verification_ref", "=subject_user_ref")
    date_hierarchy = "at"
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("submission"))
    def verification_link(self, obj: VerificationAuditLog) -> str:
        url = reverse("admin:verification_verification_change", args=[obj.verification_ref])
        return format_html('<a href="{}">{}</a>', url, str(obj.verification_ref)[:8])


admin_queues.register(
    admin_queues.Queue(
        label=_("Verification submissions to review"),
        url_name="admin:verification_verification_changelist",
        permission="verification.view_verification",
        pending=lambda: Verification.objects.filter(status=SubmissionStatus.PENDING).count(),
        order=10,
    )
)


# Model names and field labels in the reader's language (soukloop.admin_i18n).
translate_labels(
    Verification,
    name=_("verification"),
    plural=_("verifications"),
    labels={
        "created_at": _("created at"),
        "updated_at": _("updated at"),
        "user": _("user"),
        "verification_type": _("verification type"),
        "status": _("status"),
        "emirates_id_number": _("emirates id number"),
        "emirates_id_last4": _("emirates id last4"),
        "emirates_id_digest": _("emirates id digest"),
        "emirates_id_front": _("emirates id front"),
        "emirates_id_back": _("emirates id back"),
        "trade_license_number": _("trade license number"),
        "issuing_authority": _("issuing authority"),
        "trade_license_expiry": _("trade license expiry"),
        "trade_license_document": _("trade license document"),
        "document_types": _("document types"),
        "submitted_at": _("submitted at"),
        "reviewed_at": _("reviewed at"),
        "reviewed_by": _("reviewed by"),
        "rejection_reason": _("rejection reason"),
        "rejection_code": _("rejection code"),
    },
)
translate_labels(
    VerificationAuditLog,
    labels={
        "verification": _("verification"),
        "verification_ref": _("verification ref"),
        "subject_user_ref": _("subject user ref"),
        "actor": _("actor"),
        "actor_username": _("actor username"),
        "action": _("action"),
        "detail": _("detail"),
        "ip": _("ip"),
        "at": _("at"),
    },
)
