from django.urls import re_path

from soukloop.routers import OptionalSlashRouter
from streams.views import MediaMtxAuthHookView, PublishDoneHookView, PublishHookView, StreamViewSet, UpdateHookView

router = OptionalSlashRouter()
router.register("streams", StreamViewSet, basename="stream")

# Media-server callbacks come first so "hooks" is never read as a stream id.
urlpatterns = [
    re_path(r"^streams/hooks/publish/?$", PublishHookView.as_view(), name="stream-hook-publish"),
    re_path(r"^streams/hooks/publish-done/?$", PublishDoneHookView.as_view(), name="stream-hook-publish-done"),
    re_path(r"^streams/hooks/update/?$", UpdateHookView.as_view(), name="stream-hook-update"),
    re_path(r"^streams/hooks/mediamtx-auth/?$", MediaMtxAuthHookView.as_view(), name="stream-hook-mediamtx-auth"),
    *router.urls,
]
