from accounts.views import AuthViewSet, UserViewSet
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
# DRF's SimpleRouter turns any truthy ``trailing_slash`` into "/", so the kernel router
# currently demands the slash; set the optional form here until soukloop/routers.py does.
router.trailing_slash = "/?"
router.register("auth", AuthViewSet, basename="auth")
router.register("users", UserViewSet, basename="users")

urlpatterns = [*router.urls]
