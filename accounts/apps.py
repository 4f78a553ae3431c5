from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.roles import sync_moderators_group_after_migrate

        # Runs once all apps' permissions exist (after the last app's); idempotent.
        post_migrate.connect(sync_moderators_group_after_migrate, dispatch_uid="accounts.sync_moderators_group")
