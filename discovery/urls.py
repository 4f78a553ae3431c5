from discovery import views
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("saved-searches", views.SavedSearchViewSet, basename="saved-search")

urlpatterns = [*router.urls]
