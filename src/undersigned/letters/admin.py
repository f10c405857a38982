from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from undersigned.letters.models import Letter, LetterTranslation
from undersigned.signatures.counts import letter_counts


class TranslationInline(admin.StackedInline):
    model = LetterTranslation
    extra = 0


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "opens_at", "closes_at", "signature_count", "links"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["status", "opened_at", "closed_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["slug", "language", "title", "summary", "body", "demands", "addressees"]}),
        (_("Life cycle"), {"fields": ["status", "opens_at", "closes_at", "opened_at", "closed_at"],
                           "description": _("A draft opens by itself at its opening time; an open letter closes by itself at its closing time. Use the actions in the list to open, close or archive now. Closing is final: a closed letter cannot be opened again, only archived.")}),
    ]
    inlines = [TranslationInline]
    actions = ["open_letters", "close_letters", "archive_letters"]

    @admin.display(description=_("Counted signatures"))
    def signature_count(self, letter):
        return letter_counts(letter).total

    @admin.display(description=_("Links"))
    def links(self, letter):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("letters:detail", args=[letter.slug]), _("public page"),
            reverse("organizer-signatures-csv", args=[letter.slug]), _("signatures as CSV"),
        )

    def _transition(self, request, queryset, method, done):
        changed = sum(1 for letter in queryset if getattr(letter, method)())
        self.message_user(request, done % {"count": changed}, messages.SUCCESS if changed else messages.WARNING)

    @admin.action(description=_("Open the selected draft letters for signatures"))
    def open_letters(self, request, queryset):
        # A closed letter is never opened again (Letter.TRANSITIONS): say so rather than skip it quietly.
        refused = [letter for letter in queryset if letter.status in (Letter.Status.CLOSED, Letter.Status.ARCHIVED)]
        if refused:
            self.message_user(request, "%s %s" % (Letter.REOPEN_REFUSED, _("Not opened: %(titles)s.") % {
                "titles": ", ".join(letter.title for letter in refused)}), messages.ERROR)
        self._transition(request, queryset.exclude(pk__in=[letter.pk for letter in refused]), "open",
                         _("%(count)s letter(s) opened."))

    @admin.action(description=_("Close the selected letters"))
    def close_letters(self, request, queryset):
        self._transition(request, queryset, "close", _("%(count)s letter(s) closed."))

    @admin.action(description=_("Archive the selected (closed) letters"))
    def archive_letters(self, request, queryset):
        self._transition(request, queryset, "archive", _("%(count)s letter(s) archived."))
