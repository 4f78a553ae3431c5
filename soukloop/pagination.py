from rest_framework.pagination import CursorPagination, PageNumberPagination


class StandardPagination(PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``?page_size=`` up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class StandardCursorPagination(CursorPagination):
    """Stable under inserts: no duplicates or gaps while new rows arrive.

    Subclasses set ``ordering`` to a unique, indexed sort (always ending in a unique field).
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")
