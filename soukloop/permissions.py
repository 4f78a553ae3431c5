from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsOwnerOrReadOnly(BasePermission):
    """Anyone may read; only the object's owner may change it.

    The owner is ``obj.<owner_field>`` (``user`` by default); views set ``owner_field``.
    """

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        owner_field = getattr(view, "owner_field", "user")
        return getattr(obj, f"{owner_field}_id", None) == getattr(request.user, "pk", None)
