"""The company registry shared by letters, verification and the contract record."""

from __future__ import annotations

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

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower().rstrip(".")
        super().save(*args, **kwargs)
