from messaging.views import ConversationViewSet, OfferViewSet, ReportViewSet
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("offers", OfferViewSet, basename="offer")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [*router.urls]
