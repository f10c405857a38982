from __future__ import annotations

from django.http import Http404

from undersigned.letters.models import Letter
from undersigned.lib.queries import one_or_none


def public_letter_or_404(slug: str) -> Letter:
    """A letter the public may see, with its schedule applied (a due opening or closing takes effect)."""
    # Translations are read when a page needs them (Letter._translations), not for every request: a
    # signing in the letter's own language needs none.
    letter = one_or_none(Letter.objects.filter(slug=slug))
    if letter is None:
        raise Http404("No such letter.")
    letter.apply_schedule()
    if not letter.is_public:
        raise Http404("No such letter.")
    return letter


def public_letters():
    return Letter.objects.filter(status__in=Letter.PUBLIC_STATUSES).prefetch_related("translations")
