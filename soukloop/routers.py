from rest_framework.routers import SimpleRouter

OPTIONAL_SLASH = "/?"


class OptionalSlashRouter(SimpleRouter):
    """Every route answers with and without its trailing slash (no redirect on POST)."""

    def __init__(self) -> None:
        super().__init__()
        # SimpleRouter.__init__ turns any truthy trailing_slash into "/"; set the pattern after.
        self.trailing_slash = OPTIONAL_SLASH
