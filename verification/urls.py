from soukloop.routers import OptionalSlashRouter
from verification.views import VerificationViewSet


class _OptionalSlashRouter(OptionalSlashRouter):
    # DRF's SimpleRouter turns any truthy trailing_slash into "/", so the kernel router
    # currently requires the slash; set the pattern after __init__ until the kernel does.
    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = _OptionalSlashRouter()
router.register("verification", VerificationViewSet, basename="verification")

urlpatterns = [*router.urls]
