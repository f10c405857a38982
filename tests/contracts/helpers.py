"""Fixtures in code for the contract record: companies of the registry, and bulk files written on the fly
in the exact USAspending formats (column lists read from ../shared/data, never copied)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from undersigned.cli import main
from undersigned.companies.models import Company

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "usaspending"
LEGACY = DATA / "legacy-fpds"
TRANSACTION_COLUMNS = (DATA / "prime_transactions_columns.txt").read_text().split()
AWARD_COLUMNS = (DATA / "prime_awards_columns.txt").read_text().split()


def cast() -> dict[str, Company]:
    """The registry the tests use: parents, subsidiaries, aliases, UEIs, and namesakes."""
    companies = {}

    def add(slug, name, parent=None, aliases=(), ueis=()):
        companies[slug] = Company.objects.create(slug=slug, name=name, parent=companies.get(parent),
                                                 aliases=list(aliases), ueis=list(ueis))

    add("palantir", "Palantir Technologies", aliases=["Palantir"], ueis=["PALANTIRUEI1"])
    add("thomson-reuters", "Thomson Reuters")
    add("west-publishing", "West Publishing", parent="thomson-reuters", ueis=["L997DB4PEJL8"])
    add("relx", "RELX", aliases=["RELX Group"])
    add("lexisnexis", "LexisNexis", parent="relx", aliases=["LexisNexis Risk Solutions", "LexisNexis Special Services"])
    add("penlink", "Penlink", aliases=["PEN-LINK, LTD"])
    add("paragon-systems", "Paragon Systems", aliases=["PARAGON SYSTEMS, INC."])
    add("amazon", "Amazon", aliases=["Amazon Web Services"], ueis=["AMAZONUEI001"])
    return companies


def transaction(**values) -> dict:
    """One row of a prime transactions file; defaults make an ICE delivery order to Palantir."""
    piid = values.pop("piid", "HSCETC13F00030")
    mod = values.pop("mod", "0")
    subtier = values.pop("subtier", "7012")
    row = {
        "contract_transaction_unique_key": f"{subtier}_4730_{piid}_{mod}_GS35F0086U_0",
        "contract_award_unique_key": f"CONT_AWD_{piid}_{subtier}_GS35F0086U_4730",
        "award_id_piid": piid, "modification_number": mod, "transaction_number": "0",
        "parent_award_agency_id": "4730", "parent_award_id_piid": "GS35F0086U",
        "federal_action_obligation": "1000.00", "action_date": "2024-03-01",
        "period_of_performance_current_end_date": "2030-01-01",
        "awarding_agency_code": "070", "awarding_agency_name": "Department of Homeland Security",
        "awarding_sub_agency_code": subtier, "awarding_sub_agency_name": "U.S. Immigration and Customs Enforcement",
        "recipient_uei": "PALANTIRUEI1", "recipient_name": "PALANTIR TECHNOLOGIES INC.",
        "recipient_parent_uei": "", "recipient_parent_name": "",
        "transaction_description": "FALCON OPERATIONS AND MAINTENANCE",
        "prime_award_base_transaction_description": "FALCON OPERATIONS AND MAINTENANCE SUPPORT SERVICES",
        "action_type_code": "", "product_or_service_code": "D309", "naics_code": "541512", "award_type": "DELIVERY ORDER",
        "award_or_idv_flag": "AWARD",
    }
    row.update(values)
    return row


def write_transactions(path: Path, rows: list[dict], *, delta: bool = False) -> Path:
    columns = (["correction_delete_ind"] if delta else []) + TRANSACTION_COLUMNS
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
    return path


def run(*args: str):
    result = CliRunner().invoke(main, ["contracts", *map(str, args)], catch_exceptions=False)
    return result


def show(slug: str) -> dict:
    result = run("show", slug, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
