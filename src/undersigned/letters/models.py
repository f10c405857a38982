"""Letters: their text (in several languages), addressees, demands, and their life cycle."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from undersigned.lib.markdown import render_markdown
from undersigned.lib.sealing import new_sealed_secret, unseal_secret


class Letter(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for signatures")
        CLOSED = "closed", _("Closed")
        ARCHIVED = "archived", _("Archived")

    # Named groups of states (e-petitions style), used by queries and templates.
    PUBLIC_STATUSES = (Status.OPEN, Status.CLOSED, Status.ARCHIVED)
    SIGNABLE_STATUSES = (Status.OPEN,)

    slug = models.SlugField(max_length=80, unique=True)
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="en", help_text=_("The language of the text below.")
    )
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True, help_text=_("One or two sentences for the list of letters."))
    body = models.TextField(help_text=_("Markdown. Raw HTML is not rendered."))
    demands = models.TextField(blank=True, help_text=_("Markdown; a list works well."))
    addressees = models.TextField(blank=True, help_text=_("Who the letter is addressed to (Markdown)."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True, help_text=_("A draft opens by itself at this time."))
    closes_at = models.DateTimeField(null=True, blank=True, help_text=_("An open letter closes by itself at this time."))
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status in self.PUBLIC_STATUSES

    @property
    def is_signable(self) -> bool:
        return self.status in self.SIGNABLE_STATUSES

    def lock_while_open(self) -> bool:
        """Lock this letter's row for the current transaction; False if it is no longer open.

        A per-letter secret is made under this lock only: a closing (which updates this row, then deletes
        the secrets) cannot slip in between and leave a new secret behind.
        """
        return Letter.objects.select_for_update().filter(pk=self.pk, status=self.Status.OPEN).exists()

    # State changes. Each is one conditional UPDATE, so that the worker and a request applying the
    # same schedule at the same moment cannot both perform it.

    # The allowed changes of status: a closed letter is never opened again. Its private token keys and
    # verification secrets were destroyed and its issuance records deleted, so a reopened letter would
    # let every address get a second token, and nothing (the audit included) could tell.
    TRANSITIONS = {
        Status.DRAFT: (Status.OPEN,),
        Status.OPEN: (Status.CLOSED,),
        Status.CLOSED: (Status.ARCHIVED,),
        Status.ARCHIVED: (),
    }
    REOPEN_REFUSED = _("A closed letter cannot be opened again: its token keys and secrets were destroyed "
                       "when it closed, so every address could get a second token. Start a new letter instead.")

    def save(self, *args, **kwargs):
        # The status changes through open(), close() and archive(); a save that would put a closed or
        # archived letter back to open (a form, a shell, a script) is refused here too.
        if self.pk and self.status in self.SIGNABLE_STATUSES and (
            Letter.objects.filter(pk=self.pk, status__in=[self.Status.CLOSED, self.Status.ARCHIVED]).exists()
        ):
            raise ValidationError(self.REOPEN_REFUSED)
        super().save(*args, **kwargs)

    def open(self) -> bool:
        """Open a draft. False for any other letter (a closed one included: see TRANSITIONS)."""
        return self._transition(self.Status.OPEN, opened_at=timezone.now())

    def close(self) -> bool:
        with transaction.atomic():
            changed = self._transition(self.Status.CLOSED, closed_at=timezone.now())
            if changed:
                # Nobody, the operator included, can test an address against this letter any more.
                LetterSecret.objects.filter(letter=self).delete()
                # Nor mint a token: private token keys and verification secrets are destroyed, issuance
                # records, challenges and unused invitation codes deleted, and that is recorded.
                from undersigned.verification.actions import destroy_letter_secrets

                destroy_letter_secrets(self)
        return changed

    def archive(self) -> bool:
        return self._transition(self.Status.ARCHIVED)

    def _transition(self, target: str, **fields) -> bool:
        sources = [source for source, targets in self.TRANSITIONS.items() if target in targets]
        updated = Letter.objects.filter(pk=self.pk, status__in=sources).update(status=target, **fields)
        if updated:
            self.status = target
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(updated)

    def apply_schedule(self, now=None) -> None:
        """Open or close the letter if its scheduled time has come."""
        now = now or timezone.now()
        if self.status == self.Status.DRAFT and self.opens_at and self.opens_at <= now:
            self.open()
        if self.status == self.Status.OPEN and self.closes_at and self.closes_at <= now:
            self.close()

    @classmethod
    def apply_schedules(cls, now=None) -> int:
        now = now or timezone.now()
        due = cls.objects.filter(
            models.Q(status=cls.Status.DRAFT, opens_at__lte=now) | models.Q(status=cls.Status.OPEN, closes_at__lte=now)
        )
        count = 0
        for letter in due:
            letter.apply_schedule(now)
            count += 1
        return count

    # Text in the reader's language.

    @cached_property
    def _translations(self) -> dict[str, LetterTranslation]:
        return {translation.language: translation for translation in self.translations.all()}

    def text(self, language: str | None = None) -> LetterText:
        language = (language or get_language() or self.language)[:2]
        cache = self.__dict__.setdefault("_texts", {})  # rendering Markdown is the costly part
        if language not in cache:
            cache[language] = self._render_text(language)
        return cache[language]

    def title_in(self, language: str | None = None) -> str:
        """The title in ``language`` (or the active one), without rendering the rest of the text."""
        language = (language or get_language() or self.language)[:2]
        translation = self._translations.get(language) if language != self.language else None
        return (translation or self).title

    def _render_text(self, language: str) -> LetterText:
        translation = self._translations.get(language) if language != self.language else None
        source = translation or self
        return LetterText(
            language=language if translation or language == self.language else self.language,
            title=source.title,
            summary=source.summary,
            body_html=render_markdown(source.body),
            demands_html=render_markdown(source.demands),
            addressees_html=render_markdown(source.addressees),
        )

    @property
    def languages(self) -> list[str]:
        return [self.language, *sorted(self._translations)]


@dataclass(frozen=True)
class LetterText:
    """The letter's text as shown in one language (see ``Letter.text``); not stored."""

    language: str
    title: str
    summary: str
    body_html: str
    demands_html: str
    addressees_html: str


class LetterTranslation(models.Model):
    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    demands = models.TextField(blank=True)
    addressees = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["letter", "language"], name="one_translation_per_language")]

    def __str__(self) -> str:
        return f"{self.letter} ({self.language})"


def _new_digest_key() -> bytes:  # the default of the unsealed field in migration 0001
    import secrets

    return secrets.token_bytes(32)


class LetterSecret(models.Model):
    """The per-letter key of the digests that recognise an email address signing twice.

    Stored sealed with a key derived from ENCRYPTION_KEY (lib/sealing.py): a dump of the database alone
    cannot test an address against the signatures' digests. Deleted when the letter closes: after that,
    nobody can test whether an address signed.
    """

    letter = models.OneToOneField(Letter, on_delete=models.CASCADE, related_name="secret")
    sealed_email_digest_key = models.TextField(default=new_sealed_secret, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def email_digest_key(self) -> bytes:
        return unseal_secret(self.sealed_email_digest_key)
