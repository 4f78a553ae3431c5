from messaging.views import ConversationViewSet, OfferViewSet, ReportViewSet
from soukloop.routers import OptionalSlashRouter


class _OptionalSlashRouter(OptionalSlashRouter):
    """DRF's SimpleRouter.__init__ turns any truthy ``trailing_slash`` into "/", so the
    kernel router currently answers only with the slash; set the pattern after init.
    (Harmless once soukloop/routers.py does the same.)"""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = _OptionalSlashRouter()
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("offers", OfferViewSet, basename="offer")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [*router.urls]
