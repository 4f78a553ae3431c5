from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()

urlpatterns = [*router.urls]
