from __future__ import annotations

from django.http import Http404

from undersigned.letters.models import Letter
from undersigned.lib.queries import one_or_none


def public_letter_or_404(slug: str, *, with_secret: bool = False) -> Letter:
    """A letter the public may see, with its schedule applied (a due opening or closing takes effect).

    ``with_secret`` reads its email-digest key in the same query, for a signing that needs it.
    """
    # Translations are read when a page needs them (Letter._translations), not for every request: a
    # signing in the letter's own language needs none.
    letters = Letter.objects.select_related("secret") if with_secret else Letter.objects
    letter = one_or_none(letters.filter(slug=slug))
    if letter is None:
        raise Http404("No such letter.")
    letter.apply_schedule()
    if not letter.is_public:
        raise Http404("No such letter.")
    return letter


def public_letters():
    return Letter.objects.filter(status__in=Letter.PUBLIC_STATUSES).prefetch_related("translations")
