"""Small query helpers shared by the apps."""

from __future__ import annotations

from django.db.models import QuerySet


def one_or_none(queryset: QuerySet):
    """The one row a query on a unique key finds, or None.

    ``QuerySet.get()`` without its exception: unlike ``first()`` it adds no ORDER BY, whose compiling
    costs as much as the rest of a small query — and these run on every signing.
    """
    try:
        return queryset.get()
    except queryset.model.DoesNotExist:
        return None
