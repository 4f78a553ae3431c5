from django.urls import re_path

from soukloop.routers import OptionalSlashRouter
from trust import views
from trust.views import UUID_RE

router = OptionalSlashRouter()
router.register("claims", views.ClaimViewSet, basename="claim")

urlpatterns = [
    re_path(
        rf"^transactions/(?P<pk>{UUID_RE})/claim/?$", views.TransactionClaimView.as_view(), name="transaction-claim"
    ),
    re_path(
        rf"^transactions/(?P<pk>{UUID_RE})/review/?$", views.TransactionReviewView.as_view(), name="transaction-review"
    ),
    re_path(r"^users/(?P<username>[\w.@+-]+)/reviews/?$", views.UserReviewsView.as_view(), name="user-reviews"),
    re_path(rf"^reviews/(?P<pk>{UUID_RE})/reply/?$", views.ReviewReplyView.as_view(), name="review-reply"),
    *router.urls,
]
