"""DHS and its components, by the codes USAspending uses."""

from __future__ import annotations

DHS = "070"
# Sub-tier code → (short name, name as USAspending spells it).
SUBTIERS = {
    "7001": ("DHS HQ", "Office of Procurement Operations"),
    "7003": ("USCIS", "U.S. Citizenship and Immigration Services"),
    "7008": ("USCG", "U.S. Coast Guard"),
    "7009": ("USSS", "U.S. Secret Service"),
    "7012": ("ICE", "U.S. Immigration and Customs Enforcement"),
    "7013": ("TSA", "Transportation Security Administration"),
    "7014": ("CBP", "U.S. Customs and Border Protection"),
    "7015": ("FLETC", "Federal Law Enforcement Training Center"),
    "7022": ("FEMA", "Federal Emergency Management Agency"),
}
BY_SHORT = {short: code for code, (short, _name) in SUBTIERS.items()}


def agency_label(code: str, name: str = "") -> str:
    """The short name of a sub-tier agency (ICE, CBP), else its name, else its code."""
    if code in SUBTIERS:
        return SUBTIERS[code][0]
    return name or code or "unknown"


def api_agency_filter(value: str) -> dict:
    """An AgencyObject for the USAspending API from DHS, a short name (ICE) or a code (070, 7012)."""
    text = value.strip()
    upper = text.upper()
    if upper in ("DHS", DHS, "70"):
        return {"type": "awarding", "tier": "toptier", "name": "Department of Homeland Security"}
    code = BY_SHORT.get(upper, text)
    if code in SUBTIERS:
        return {"type": "awarding", "tier": "subtier", "name": SUBTIERS[code][1],
                "toptier_name": "Department of Homeland Security"}
    raise ValueError(f"unknown agency {value!r}: use DHS, one of {', '.join(sorted(BY_SHORT))}, or their codes")
