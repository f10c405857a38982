"""The company registry shared by letters, verification and the contract record."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class Company(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    # Subsidiaries roll up to their parent in counts (AWS → Amazon, LinkedIn → Microsoft).
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="subsidiaries")
    # Other names people and procurement records use ("AWS", "PEN-LINK, LTD"); matched case-insensitively.
    aliases = models.JSONField(default=list, blank=True)
    # Unique Entity IDs (SAM.gov) of federal contract recipients that are this company.
    ueis = models.JSONField(default=list, blank=True)
    website = models.URLField(blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a parent that is the company itself or one of its own subsidiaries (a cycle)."""
        company, seen = self.parent, {self.pk}
        while company is not None:
            if company.pk in seen:
                raise ValidationError({"parent": "A company cannot be its own parent, directly or through subsidiaries."})
            seen.add(company.pk)
            company = company.parent

    @property
    def root(self) -> Company:
        """The ultimate parent, which signatures and contracts are counted under."""
        company, seen = self, {self.pk}
        while company.parent_id is not None and company.parent_id not in seen:
            seen.add(company.parent_id)
            company = company.parent
        return company


class EmailDomain(models.Model):
    """A domain whose mailboxes belong to employees of a company (``google.com`` → Google)."""

    domain = models.CharField(max_length=253, unique=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="domains")

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        from undersigned.companies.matching import is_free_mail, normalize_domain

        try:
            self.domain = normalize_domain(self.domain or "")
        except ValueError as error:
            raise ValidationError({"domain": str(error)}) from error
        if is_free_mail(self.domain):
            raise ValidationError({"domain": f"{self.domain} is a free-mail provider: its addresses prove no employer."})

    def save(self, *args, **kwargs):
        from undersigned.companies.matching import normalize_domain

        try:  # the same form company_for_email looks up (lower case, punycode)
            self.domain = normalize_domain(self.domain)
        except ValueError:
            self.domain = self.domain.strip().lower().rstrip(".")
        super().save(*args, **kwargs)
