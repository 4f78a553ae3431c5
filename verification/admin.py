from django.contrib import admin

from verification.models import Verification


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = ("user", "verification_type", "status", "submitted_at", "reviewed_at", "reviewed_by")
    list_filter = ("status", "verification_type", "issuing_authority", "submitted_at")
    search_fields = ("user__username", "user__email", "user__phone")
    list_select_related = ("user", "reviewed_by")
    raw_id_fields = ("user", "reviewed_by")
    exclude = ("emirates_id_number",)
