from decimal import Decimal

from django import template

from undersigned.contracts.agencies import agency_label
from undersigned.contracts.categories import all_categories

register = template.Library()


@register.filter
def dollars(value) -> str:
    """$1,234,567.89 (negative amounts, de-obligations, as −$1,234.00)."""
    amount = Decimal(value or 0)
    sign = "−" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@register.simple_tag
def agency(award) -> str:
    return agency_label(award.subtier_code, award.subtier_name)


@register.simple_tag
def category_name(slug: str) -> str:
    found = all_categories().get(slug)
    return found.name if found else slug
