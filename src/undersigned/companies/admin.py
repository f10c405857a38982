"""The company registry in the organizer area (in English, like the registry's field names).

Safe by construction: domains are normalised and free-mail domains refused (EmailDomain.clean), a
parent cannot create a cycle (Company.clean), a name or alias cannot read like another company's
(the form below), and there is no bulk delete (a company with signatures cannot be deleted anyway).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils.html import format_html_join

from undersigned.companies.matching import NameIndex, clean_company_name, company_keys
from undersigned.companies.models import Company, EmailDomain
from undersigned.companies.registry import UEI_RE


class LinesField(forms.CharField):
    """A list of strings edited as one per line."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        seen, result = set(), []
        for line in text.splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.add(line)
                result.append(line)
        return result


class CompanyForm(forms.ModelForm):
    aliases = LinesField(
        required=False,
        label="Aliases",
        help_text=(
            "One per line: other names people or procurement records use (“AWS”, “PEN-LINK, LTD.”). "
            "Case, punctuation, “The” and “Inc.”/“LLC” are ignored when matching."
        ),
    )
    website = forms.URLField(required=False, assume_scheme="https", label="Website")
    ueis = LinesField(
        required=False,
        label="UEIs",
        help_text="One per line: SAM.gov Unique Entity IDs of federal contract recipients that are this company.",
    )

    class Meta:
        model = Company
        fields = ["name", "slug", "parent", "website", "description", "aliases", "ueis"]
        help_texts = {
            "slug": "Stable identifier used in addresses and the API; avoid changing it.",
            "parent": "Signatures and contracts of this company are counted under its top parent.",
            "description": "One neutral line.",
        }

    def clean_ueis(self):
        ueis = [uei.upper() for uei in self.cleaned_data["ueis"]]
        bad = [uei for uei in ueis if not UEI_RE.match(uei)]
        if bad:
            raise forms.ValidationError("Not a UEI (12 letters and digits): %(ueis)s", params={"ueis": ", ".join(bad)})
        others = Company.objects.exclude(pk=self.instance.pk)
        taken = [f"{uei} ({c.name})" for c in others for uei in ueis if uei in (c.ueis or [])]
        if taken:
            raise forms.ValidationError("Already given to another company: %(ueis)s", params={"ueis": ", ".join(taken)})
        return ueis

    def clean(self):
        data = super().clean()
        name, slug = data.get("name"), data.get("slug")
        if name and slug is not None:
            if not clean_company_name(name):
                self.add_error("name", "A name needs letters or digits.")
            index = NameIndex(Company.objects.exclude(pk=self.instance.pk))
            clashes = sorted(
                {f"“{index.by_key[key].name}”" for key in company_keys(name, slug, data.get("aliases") or []) if key in index.by_key}
            )
            if clashes:
                raise forms.ValidationError(
                    "The name or an alias reads like another company's: %(companies)s. Names must tell companies apart.",
                    params={"companies": ", ".join(clashes)},
                )
        return data


class EmailDomainInline(admin.TabularInline):
    model = EmailDomain
    extra = 1
    fields = ["domain"]
    verbose_name = "email domain"
    verbose_name_plural = "Email domains (work addresses; subdomains match too; never free mail)"


class LevelFilter(admin.SimpleListFilter):
    title = "level"
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return [("top", "Top-level companies"), ("subsidiary", "Subsidiaries")]

    def queryset(self, request, queryset):
        if self.value() == "top":
            return queryset.filter(parent__isnull=True)
        if self.value() == "subsidiary":
            return queryset.filter(parent__isnull=False)
        return queryset


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyForm
    inlines = [EmailDomainInline]
    list_display = ["name", "slug", "parent", "rolls_up_to", "domain_list", "subsidiary_count"]
    list_filter = [LevelFilter, ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug", "aliases", "ueis", "domains__domain"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["rolls_up_to", "subsidiary_list"]
    list_per_page = 100
    ordering = ["name", "slug"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "parent", "rolls_up_to", "subsidiary_list"]}),
        ("Matching", {"fields": ["aliases", "ueis"]}),
        ("About", {"fields": ["website", "description"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("parent__parent__parent")
            .prefetch_related(Prefetch("domains", queryset=EmailDomain.objects.order_by("domain")))
            .annotate(subsidiary_total=Count("subsidiaries", distinct=True))
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, with Django's confirmation page
        return actions

    @admin.display(description="Counted under")
    def rolls_up_to(self, company: Company) -> str:
        if not company.pk:
            return "—"
        root = company.root
        return "—" if root.pk == company.pk else root.name

    @admin.display(description="Email domains")
    def domain_list(self, company: Company) -> str:
        return ", ".join(d.domain for d in company.domains.all()) or "—"

    @admin.display(description="Subsidiaries", ordering="subsidiary_total")
    def subsidiary_count(self, company: Company) -> int:
        return getattr(company, "subsidiary_total", 0)

    @admin.display(description="Subsidiaries")
    def subsidiary_list(self, company: Company) -> str:
        if not company.pk:
            return "—"
        children = list(company.subsidiaries.order_by("name"))
        if not children:
            return "—"
        url = f"{self.admin_site.name}:companies_company_change"
        return format_html_join(", ", '<a href="{}">{}</a>', ((reverse(url, args=[c.pk]), c.name) for c in children))


@admin.register(EmailDomain)
class EmailDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "company"]
    search_fields = ["domain", "company__name", "company__slug"]
    autocomplete_fields = ["company"]
    list_select_related = ["company"]
    list_per_page = 100

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

