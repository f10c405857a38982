"""The contract record: recipients, awards, their transactions, and how each is tied to a company.

Natural keys from USAspending are the primary keys (the award key, the transaction key), so that loading
the same record twice, from a bulk file or the API, lands on the same row.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from undersigned.companies.models import Company

AWARD_PAGE = "https://www.usaspending.gov/award/{}/"


class Recipient(models.Model):
    """A recipient as procurement records name it: by UEI, else by DUNS (older records), else by name."""

    key = models.CharField(max_length=120, primary_key=True)
    uei = models.CharField(max_length=12, blank=True, db_index=True)
    duns = models.CharField(max_length=13, blank=True, db_index=True)
    name = models.CharField(max_length=300, blank=True)
    clean_name = models.CharField(max_length=300, blank=True, db_index=True)
    parent_uei = models.CharField(max_length=12, blank=True)
    parent_duns = models.CharField(max_length=13, blank=True)
    parent_name = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.key


class LinkMethod(models.TextChoices):
    UEI = "uei", _("recipient UEI in the registry")
    PARENT_UEI = "parent_uei", _("parent UEI in the registry")
    CURATED = "curated", _("curated override")
    ALIAS = "alias", _("exact name or alias")
    FUZZY = "fuzzy", _("similar name, confirmed by an organizer")
    DESCRIPTION = "description", _("named in the description (reseller)")


class LinkStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("confirmed")
    SUGGESTED = "suggested", _("suggested")
    REJECTED = "rejected", _("rejected")


class RecipientLink(models.Model):
    """Ties a recipient to a company of the registry, recording how (and how sure we are).

    Only confirmed links count. Fuzzy matches arrive as suggestions for an organizer to confirm or
    reject; a rejected suggestion is kept so that it is not suggested again.
    """

    # Found through the unique (recipient, company) index: no index of its own.
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="links", db_index=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="recipient_links")
    method = models.CharField(max_length=20, choices=LinkMethod.choices)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    status = models.CharField(max_length=20, choices=LinkStatus.choices, default=LinkStatus.CONFIRMED)
    evidence = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "company"], name="contracts_link_unique")]
        indexes = [models.Index(fields=["status", "recipient"])]

    def __str__(self) -> str:
        return f"{self.recipient} → {self.company} ({self.method}, {self.status})"


class CuratedLink(models.Model):
    """An organizer's decision that a recipient identifier (UEI, DUNS or exact cleaned name) is a company.

    Seeded from ``contracts/data/curated.toml`` and edited in the organizer area.
    """

    class Kind(models.TextChoices):
        UEI = "uei", "UEI"
        DUNS = "duns", "DUNS"
        NAME = "name", _("cleaned name")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=300)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="curated_links")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="contracts_curated_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} → {self.company}"


class AwardStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    STOP_WORK = "stop_work", _("stop-work")
    TERMINATED = "terminated", _("terminated")
    CLOSED = "closed", _("closed")
    ENDED = "ended", _("ended")


class Award(models.Model):
    award_key = models.CharField(max_length=200, primary_key=True)
    piid = models.CharField(max_length=60)
    parent_piid = models.CharField(max_length=60, blank=True)
    agency_code = models.CharField(max_length=3)
    subtier_code = models.CharField(max_length=4, blank=True)
    subtier_name = models.CharField(max_length=200, blank=True)
    recipient = models.ForeignKey(Recipient, null=True, on_delete=models.SET_NULL, related_name="awards", db_index=False)
    description = models.TextField(blank=True)
    search_text = models.TextField(blank=True)  # upper-cased description, PIID and recipient name
    psc = models.CharField(max_length=10, blank=True)
    naics = models.CharField(max_length=10, blank=True)
    award_type = models.CharField(max_length=60, blank=True)
    # From a prime award summary file, when one was loaded.
    summary_obligated = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    summary_first_date = models.DateField(null=True)
    summary_last_date = models.DateField(null=True)
    summary_fiscal_year = models.SmallIntegerField(null=True)
    summary_last_fiscal_year = models.SmallIntegerField(null=True)
    end_date = models.DateField(null=True)
    # Derived after each load. The total is the summary's when a summary file was loaded (it covers the
    # award's whole life), else the sum of the modifications loaded.
    obligated = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    transaction_total = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    transaction_count = models.IntegerField(default=0)
    first_action_date = models.DateField(null=True)
    last_action_date = models.DateField(null=True)
    fiscal_year = models.SmallIntegerField(null=True)
    status = models.CharField(max_length=20, choices=AwardStatus.choices, default=AwardStatus.ENDED)
    # The company the recipient is linked to (not rolled up: the registry's parents can change).
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="awards",
                                db_index=False)
    link_method = models.CharField(max_length=20, choices=LinkMethod.choices, blank=True)
    first_loaded_at = models.DateTimeField()  # no index: feeds find their awards by company or category first
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-first_action_date", "award_key"]
        # Each index costs every load (a year of DHS data is some 100,000 awards): these are the ones pages
        # and loads use. (Meta indexes, not db_index: those get a second LIKE index on PostgreSQL.)
        indexes = [models.Index(fields=["company", "first_action_date"]), models.Index(fields=["recipient"])]

    def __str__(self) -> str:
        return self.piid

    @property
    def url(self) -> str:
        return AWARD_PAGE.format(self.award_key)

    # get_status_display() rebuilds the choices on every call: a page of 50 awards spent 10 ms on it.
    @property
    def status_label(self) -> str:
        return str(_STATUS_LABELS.get(self.status, self.status))

    @property
    def link_method_label(self) -> str:
        return str(_LINK_LABELS.get(self.link_method, self.link_method))

    @property
    def agency_label(self) -> str:
        from undersigned.contracts.agencies import agency_label

        return agency_label(self.subtier_code, self.subtier_name)


_STATUS_LABELS = dict(AwardStatus.choices)
_LINK_LABELS = dict(LinkMethod.choices)


class Transaction(models.Model):
    """One action on an award: the base award or a modification, with the money it obligated."""

    key = models.CharField(max_length=240, primary_key=True)
    # Found through the (award, fiscal year) index: no index of its own.
    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="transactions", db_constraint=False,
                              db_index=False)
    modification_number = models.CharField(max_length=40, blank=True)
    action_date = models.DateField(null=True)
    fiscal_year = models.SmallIntegerField(null=True)
    obligation = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    action_type_code = models.CharField(max_length=4, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["action_date", "modification_number"]
        indexes = [models.Index(fields=["award", "fiscal_year"])]

    def __str__(self) -> str:
        return self.key


class SubAward(models.Model):
    key = models.CharField(max_length=64, primary_key=True)  # digest of prime award, number, report id
    prime_award_key = models.CharField(max_length=200, db_index=True)
    prime_piid = models.CharField(max_length=60, blank=True)
    prime_recipient_name = models.CharField(max_length=300, blank=True)
    subtier_code = models.CharField(max_length=4, blank=True)
    number = models.CharField(max_length=100, blank=True)
    recipient = models.ForeignKey(Recipient, null=True, on_delete=models.SET_NULL, related_name="subawards")
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    action_date = models.DateField(null=True)
    description = models.TextField(blank=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="subawards")

    class Meta:
        ordering = ["-action_date"]

    @property
    def url(self) -> str:
        return AWARD_PAGE.format(self.prime_award_key)


class AwardCategory(models.Model):
    """A category tag on an award, with the rule that produced it in plain words."""

    # Found through the unique (award, category) and the (category, award) indexes.
    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="categories", db_constraint=False,
                              db_index=False)
    category = models.SlugField(max_length=60, db_index=False)
    rule = models.CharField(max_length=80)
    explanation = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["award", "category"], name="contracts_award_category_unique")]
        indexes = [models.Index(fields=["category", "award"])]


class Mention(models.Model):
    """A reseller's award whose description names a company ("AMAZON WEB SERVICES").

    Shown apart from the company's own awards and never added to its direct total.
    """

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="mentions", db_constraint=False,
                              db_index=False)  # found through the unique (award, company) index
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="contract_mentions")
    matched = models.CharField(max_length=200)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    method = models.CharField(max_length=20, default=LinkMethod.DESCRIPTION, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["award", "company"], name="contracts_mention_unique")]


class LoadRun(models.Model):
    """One file (or API fetch) loaded: what it was, how much it held, what it changed."""

    source = models.CharField(max_length=500)
    kind = models.CharField(max_length=40)
    digest = models.CharField(max_length=64, blank=True)
    rows_read = models.BigIntegerField(default=0)
    rows_in_scope = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    rows_deleted = models.BigIntegerField(default=0)
    awards_new = models.IntegerField(default=0)
    seconds = models.FloatField(default=0)
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-finished_at"]


class FetchCursor(models.Model):
    """Where an interrupted `contracts fetch` resumes: one row per distinct query."""

    query_digest = models.CharField(max_length=64, unique=True)
    query = models.JSONField()
    page = models.IntegerField(default=1)
    last_record_unique_id = models.CharField(max_length=100, blank=True)
    last_record_sort_value = models.CharField(max_length=200, blank=True)
    rows = models.BigIntegerField(default=0)
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)


class EntityName(models.Model):
    """A name known for a DUNS number from a hand-cleaned list (vendor decorations, parent names).

    Older records identify recipients by DUNS only; these names help match them to the registry.
    """

    duns = models.CharField(max_length=13, db_index=True)
    name = models.CharField(max_length=300)
    clean_name = models.CharField(max_length=300)
    source = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["duns", "clean_name"], name="contracts_entity_name_unique")]
