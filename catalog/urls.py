from django.urls import re_path

from catalog import views
from soukloop.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("products", views.ProductViewSet, basename="product")

urlpatterns = [
    re_path(r"^categories/?$", views.CategoryListView.as_view(), name="category-list"),
    re_path(r"^feeds/discover/?$", views.DiscoverFeedView.as_view(), name="feed-discover"),
    re_path(r"^feeds/community/?$", views.CommunityFeedView.as_view(), name="feed-community"),
    re_path(r"^me/likes/?$", views.MyLikesView.as_view(), name="my-likes"),
    re_path(r"^media/?$", views.MediaUploadView.as_view(), name="media-upload"),
    re_path(r"^users/(?P<username>[^/]+)/products/?$", views.UserProductsView.as_view(), name="user-products"),
    *router.urls,
]
