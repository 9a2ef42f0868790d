"""Query-string filters of the lists. Validation errors are 400s naming the parameter."""

import django_filters
from django import forms
from rest_framework.filters import OrderingFilter

from media_handler.models import Media, MediaType


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no), any case; anything else is a 400, not silently ignored."""

    TRUE = frozenset({"true", "1", "yes", "on"})
    FALSE = frozenset({"false", "0", "no", "off"})

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    # django-filter builds any form field from `field_class`; its stubs expect a NullBooleanField.
    field_class = StrictBooleanField  # type: ignore[assignment]


class MediaFilter(django_filters.FilterSet):
    """`type` (one of the media types), `collection` (a UUID) and `is_deleted`: the trash is
    listed only on `is_deleted=true`; without the parameter the list is the live media."""

    type = django_filters.ChoiceFilter(choices=MediaType.choices)
    collection = django_filters.UUIDFilter(field_name="collection_id")
    is_deleted = StrictBooleanFilter()

    class Meta:
        model = Media
        fields = ["type", "collection", "is_deleted"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("is_deleted") is None:
            queryset = queryset.filter(is_deleted=False)
        return queryset


class StableOrderingFilter(OrderingFilter):
    """DRF's ordering, with the primary key as the last key, so equal values (two uploads in
    the same second, two media of the same name) cannot move between pages."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(field.lstrip("-") in ("id", "pk") for field in ordering):
            descending = bool(ordering) and ordering[0].startswith("-")
            ordering.append("-id" if descending else "id")
        return ordering
