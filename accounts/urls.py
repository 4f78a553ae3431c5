from accounts.views import AuthViewSet, UserViewSet
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("auth", AuthViewSet, basename="auth")
router.register("users", UserViewSet, basename="users")

urlpatterns = [*router.urls]
