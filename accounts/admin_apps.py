from django.contrib.admin.apps import AdminConfig


class SoukAdminConfig(AdminConfig):
    """The admin with staff two-factor sign-in and the moderators' queues on its index."""

    default_site = "accounts.admin_site.SoukAdminSite"
