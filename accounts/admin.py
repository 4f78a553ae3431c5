from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Block, Follow, User
from soukloop.admin_i18n import translate_labels


class UpheldClaimsFilter(admin.SimpleListFilter):
    """Sellers with claims upheld against them (money back to the buyer), for moderators."""

    title = _("claims upheld against them")
    parameter_name = "claims_upheld"

    def lookups(self, request, model_admin):
        return (("1", _("1 or more")), ("3", _("3 or more")), ("10", _("10 or more")))

    def queryset(self, request, queryset):
        if self.value() in ("1", "3", "10"):
            return queryset.filter(stats__claims_upheld_count__gte=int(self.value()))
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin, GISModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # avatar_url, as Django 6 will
    list_display = (
        "username",
        "email",
        "phone",
        "full_name",
        "role",
        "is_verified",
        "verification_status",
        "suspended_until",
        "claims_upheld",
        "created_at",
    )
    list_filter = (
        "role",
        "is_verified",
        "verification_status",
        UpheldClaimsFilter,
        "is_staff",
        "is_active",
        "created_at",
    )
    list_select_related = ("stats",)
    search_fields = ("username", "email", "phone", "full_name")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over a large users table on every page is not free
    actions = ("deactivate_and_sign_out", "suspend_users")
    readonly_fields = (
        "created_at",
        "updated_at",
        "last_login",
        "last_login_at",
        "date_joined",
        "suspended_until",
        "suspension_reason",
        "claims_upheld",
        "rating_summary",
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Profile"), {"fields": ("email", "phone", "full_name", "avatar_url", "bio", "role")}),
        (
            _("Trust"),
            {
                "fields": (
                    "is_verified",
                    "verification_status",
                    "suspended_until",
                    "suspension_reason",
                    "claims_upheld",
                    "rating_summary",
                )
            },
        ),
        (_("Place"), {"fields": ("location", "neighborhood", "building_name")}),
        (_("Payments"), {"fields": ("stripe_customer_id", "stripe_connect_account_id", "stripe_onboarded")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "last_login_at", "date_joined", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "phone", "role", "password1", "password2")}),
    )
    # Privilege and credential fields: only a superuser may see them on a form or change them.
    # A moderator holding ``accounts.change_user`` edits profiles, never who may do what.
    PRIVILEGE_FIELDS = ("password", "is_staff", "is_superuser", "groups", "user_permissions")

    @admin.display(description=_("claims upheld"), ordering="stats__claims_upheld_count")
    def claims_upheld(self, obj: User) -> int:
        stats = getattr(obj, "stats", None)
        return stats.claims_upheld_count if stats else 0

    @admin.display(description=_("rating"))
    def rating_summary(self, obj: User) -> str:
        stats = getattr(obj, "stats", None)
        if stats is None or stats.rating is None:
            return "—"
        return f"{stats.rating} ({stats.rating_count})"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        return tuple(
            (name, {**opts, "fields": tuple(f for f in opts["fields"] if f not in self.PRIVILEGE_FIELDS)})
            for name, opts in fieldsets
        )

    def has_change_permission(self, request, obj=None):
        """Staff and superuser accounts are changed by superusers only (a moderator could
        otherwise edit another moderator, or a superuser's e-mail and then reset its password)."""
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def user_change_password(self, request, id, form_url=""):
        """Setting someone's password is a superuser's job, whoever the account is."""
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def get_search_results(self, request, queryset, search_term):
        """A phone typed as 050 123 4567 finds the +971501234567 stored in E.164."""
        from accounts.phones import try_normalize_phone

        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phone = try_normalize_phone(search_term) if search_term else None
        if phone:
            queryset |= self.model.objects.filter(phone=phone)
        return queryset, may_have_duplicates

    @admin.action(description=_("Deactivate and sign out everywhere"), permissions=["change"])
    def deactivate_and_sign_out(self, request, queryset):
        count = 0
        if not request.user.is_superuser:
            queryset = queryset.filter(is_staff=False, is_superuser=False)
        for user in queryset.exclude(pk=request.user.pk):
            services.user_deactivate(user=user)
            self.log_change(request, user, _("Deactivated and signed out everywhere"))
            count += 1
        self.message_user(request, _("%(count)d account(s) deactivated.") % {"count": count})


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the person is told)"), max_length=300, widget=forms.Textarea)
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=3650, initial=7)


def _suspend_users(modeladmin: UserAdmin, request, queryset):
    """Suspend with a reason and a duration, after a confirmation page; each one audited."""
    users = list(queryset.filter(is_staff=False, is_superuser=False))
    form = SuspendForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        for user in users:
            services.user_suspend(
                user=user, by=request.user, reason=form.cleaned_data["reason"], days=form.cleaned_data["days"]
            )
            modeladmin.log_change(
                request,
                user,
                _("Suspended for %(days)d days: %(reason)s")
                % {"days": form.cleaned_data["days"], "reason": form.cleaned_data["reason"]},
            )
        modeladmin.message_user(request, _("%(count)d account(s) suspended.") % {"count": len(users)})
        return None
    return TemplateResponse(
        request,
        "admin/accounts/user/suspend.html",
        {**modeladmin.admin_site.each_context(request), "users": users, "form": form, "title": _("Suspend accounts")},
    )


UserAdmin.suspend_users = admin.action(description=_("Suspend selected accounts…"), permissions=["change"])(
    _suspend_users
)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "following", "created_at")
    search_fields = ("follower__username", "following__username")
    list_select_related = ("follower", "following")
    raw_id_fields = ("follower", "following")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    list_select_related = ("blocker", "blocked")
    raw_id_fields = ("blocker", "blocked")


translate_labels(LogEntry, {}, name=_("moderation log entry"), plural=_("moderation log"))


@admin.register(LogEntry)
class ModerationLogAdmin(admin.ModelAdmin):
    """One audit log of every moderator action: suspensions, hidden listings, report
    resolutions, verification decisions (and any admin edit), with who, why and when. The same
    rows make each object's "History" page. Append-only: nobody edits or deletes them."""

    list_display = ("action_time", "user", "content_type", "target", "what")
    list_filter = ("action_time", "content_type", "action_flag")
    search_fields = ("user__username", "object_repr", "change_message")
    list_select_related = ("user", "content_type")
    date_hierarchy = "action_time"
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("object"))
    def target(self, obj: LogEntry) -> str:
        url = obj.get_admin_url()
        return format_html('<a href="{}">{}</a>', url, obj.object_repr) if url else obj.object_repr

    @admin.display(description=_("what was done and why"))
    def what(self, obj: LogEntry) -> str:
        return obj.get_change_message()


# Model names and field labels in the reader's language (soukloop.admin_i18n).
translate_labels(
    User,
    name=_("user"),
    plural=_("users"),
    labels={
        "avatar_url": _("avatar url"),
        "bio": _("bio"),
        "role": _("role"),
        "verification_status": _("verification status"),
        "location": _("location"),
        "neighborhood": _("neighborhood"),
        "building_name": _("building name"),
        "last_login_at": _("last login at"),
        "stripe_customer_id": _("stripe customer id"),
        "stripe_connect_account_id": _("stripe connect account id"),
        "stripe_onboarded": _("stripe onboarded"),
        "created_at": _("created at"),
        "updated_at": _("updated at"),
    },
)
translate_labels(
    Follow,
    name=_("follow"),
    plural=_("follows"),
    labels={
        "follower": _("follower"),
        "following": _("following"),
        "created_at": _("created at"),
    },
)
translate_labels(
    Block,
    name=_("block"),
    plural=_("blocks"),
    labels={
        "blocker": _("blocker"),
        "blocked": _("blocked"),
        "created_at": _("created at"),
    },
)
