from soukloop.routers import OptionalSlashRouter
from verification.views import VerificationViewSet

router = OptionalSlashRouter()
router.register("verification", VerificationViewSet, basename="verification")

urlpatterns = [*router.urls]
