from rest_framework.routers import DefaultRouter, SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Every route answers with and without its trailing slash (no redirect on POST)."""

    def __init__(self) -> None:
        super().__init__(trailing_slash="/?")


class OptionalSlashDefaultRouter(DefaultRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash="/?")
