"""The signing form, shared by the HTML page and the JSON API."""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def _no_control_characters(value: str) -> None:
    if any(unicodedata.category(character) in ("Cc", "Cf") and character not in "\n\r\t" for character in value):
        raise ValidationError(_("Please remove invisible control characters."), code="control_characters")


class SignatureForm(forms.Form):
    VISIBILITY_CHOICES = [
        ("anonymous", _("Sign anonymously (your name is not shown)")),
        ("named", _("Show my name")),
    ]

    visibility = forms.ChoiceField(
        label=_("How to sign"), choices=VISIBILITY_CHOICES, initial="anonymous", widget=forms.RadioSelect,
        required=False,
    )
    name = forms.CharField(
        label=_("Your name"), max_length=100, required=False, validators=[_no_control_characters],
        help_text=_("Needed only if you choose to show your name. Shown after an organizer reviews it."),
    )
    company = forms.CharField(
        label=_("Company"), max_length=120, validators=[_no_control_characters],
        widget=forms.TextInput(attrs={"list": "company-suggestions", "autocomplete": "organization"}),
        help_text=_("Where you work or worked. Start typing to see the companies we know."),
    )
    role = forms.CharField(
        label=_("Role (optional)"), max_length=120, required=False, validators=[_no_control_characters],
        help_text=_("Shown only next to your name."),
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        validators=[_no_control_characters], help_text=_("Up to 500 characters. Shown after an organizer reviews it."),
    )
    email = forms.EmailField(
        label=_("Email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("Use a personal address, not your work one: the email names the letter, and your employer's mail system can read it. We send you a link to confirm. We keep only a keyed digest of the address, to recognise a second signature; never the address itself."),
    )

    def clean_visibility(self) -> str:
        return self.cleaned_data.get("visibility") or "anonymous"

    def clean(self):
        cleaned = super().clean()
        for field in ("name", "company", "role", "comment"):
            if isinstance(cleaned.get(field), str):
                cleaned[field] = cleaned[field].strip()
        if cleaned.get("visibility") == "named" and not cleaned.get("name"):
            self.add_error("name", _("Enter your name, or choose to sign anonymously."))
        return cleaned
