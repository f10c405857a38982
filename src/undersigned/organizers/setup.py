"""What `undersigned serve` does before serving: database, static files, registry, demo letter."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.management import call_command


def prepare_site(*, with_demo: bool = True) -> Iterator[str]:
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    yield f"Database ready ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})."

    from undersigned.companies.registry import load_seed_if_empty

    loaded = load_seed_if_empty()
    if loaded:
        yield f"Loaded the company registry ({loaded} companies)."

    if with_demo:
        from undersigned.letters.demo import create_demo_letter

        letter = create_demo_letter()
        if letter:
            yield f"Created the demo letter: {settings.SITE_URL}/letters/{letter.slug}/"

    from django.contrib.auth import get_user_model

    from undersigned.organizers.accounts import organizer_login_link

    # A sign-in link is a key to the organizer area, and this output often ends up in service logs:
    # print one only until an organizer has signed in; afterwards, `undersigned organizer-link` asks.
    if get_user_model().objects.filter(is_staff=True, last_login__isnull=False).exists():
        yield "Organizer sign-in: run `undersigned organizer-link` for a one-time link."
    else:
        yield f"Organizer sign-in (one-time link, valid 24 hours): {organizer_login_link()}"
    if settings.DEMO_OUTBOX:
        yield f"No EMAIL_URL set: emails go to the demo outbox at {settings.SITE_URL}/outbox/"
