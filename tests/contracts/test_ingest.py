"""`undersigned contracts ingest`: real files from ../shared/data, and generated ones in the exact formats."""

import zipfile
from decimal import Decimal

import pytest

from undersigned.contracts.models import Award, LoadRun, Transaction
from tests.contracts.helpers import DATA, LEGACY, run, show, transaction, write_transactions

pytestmark = pytest.mark.django_db


def legacy_files():
    return sorted(LEGACY.glob("fy*.csv")) + [LEGACY / "follow_the_money_data_dictionary.csv"]


def test_it_loads_every_file_in_the_shared_data_folder(companies):
    paths = sorted(DATA.glob("*.csv")) + sorted(DATA.glob("*.txt")) + sorted(LEGACY.glob("*.csv"))
    result = run("ingest", "--quiet", *paths)
    assert result.exit_code == 0, result.output
    assert "legacy-transactions: 157 rows read" in result.output  # fy13.csv has a header row; the others none
    assert "subawards:" in result.output and "entity-names:" in result.output
    assert Award.objects.count() > 5000

    # show palantir lists ICE task order HSCETC13F00030 (FY2013-2018 files) with its modifications summed:
    awards = {award["award_id"]: award for award in show("palantir")["awards"]}
    falcon = awards["HSCETC13F00030"]
    # P00001 (FY2013) + P00006 (FY2014) + P00009 (FY2015), day-first dates in the legacy files.
    assert falcon["obligated"] == round(1218373.06 + 1431264.65 + 241794.41, 2)
    assert falcon["first_action_date"] == "2013-09-26" and falcon["last_action_date"] == "2015-05-13"
    assert falcon["award_key"] == "CONT_AWD_HSCETC13F00030_7012_GS35F0086U_4730"
    assert falcon["agency"] == "ICE"
    assert "data-platforms" in falcon["categories"]
    assert Transaction.objects.filter(award_id=falcon["award_key"]).count() == 3

    # show thomson-reuters includes West Publishing's awards (in the Minnesota file):
    record = show("thomson-reuters")
    west = [award for award in record["awards"] if award["recipient"] == "WEST PUBLISHING CORPORATION"]
    assert len(west) > 50
    assert "uei" in {award["link_method"] for award in west}
    assert record["total_obligated"] == pytest.approx(sum(award["obligated"] for award in record["awards"]))
    # Spreadsheet dates like 12/22/17 are month-first.
    award = next(a for a in west if a["award_id"] == "70CDCR18P00000017")
    assert award["first_action_date"] == "2017-12-22"
    assert sum(sum(year.values()) for year in record["by_fiscal_year"].values()) == pytest.approx(record["total_obligated"])


def test_it_is_idempotent_and_overlapping_files_change_nothing(companies, tmp_path):
    first = write_transactions(tmp_path / "a.csv", [transaction(mod="0"), transaction(mod="P00001", federal_action_obligation="500")])
    overlap = write_transactions(tmp_path / "b.csv", [transaction(mod="P00001", federal_action_obligation="500"),
                                                     transaction(mod="P00002", federal_action_obligation="-200")])
    assert run("ingest", first).exit_code == 0
    assert run("ingest", first, overlap).exit_code == 0
    before = show("palantir")
    assert run("ingest", overlap, first).exit_code == 0
    assert show("palantir") == before
    assert before["total_obligated"] == 1300.0
    assert Transaction.objects.count() == 3


def test_it_applies_delta_files(companies, tmp_path):
    base = write_transactions(tmp_path / "base.csv", [transaction(mod="0"), transaction(mod="P00001", federal_action_obligation="500")])
    delta = write_transactions(tmp_path / "delta.csv", [
        transaction(mod="0", federal_action_obligation="2000", correction_delete_ind="C"),
        {"correction_delete_ind": "D", "contract_transaction_unique_key": "7012_4730_HSCETC13F00030_P00001_GS35F0086U_0"},
        transaction(mod="P00003", federal_action_obligation="7", action_type_code="F", correction_delete_ind=""),
    ], delta=True)
    assert run("ingest", base).exit_code == 0
    result = run("ingest", delta)
    assert result.exit_code == 0, result.output
    assert "prime-transactions-delta" in result.output and "1 deleted" in result.output
    award = Award.objects.get()
    assert award.obligated == 2007 and award.transaction_count == 2
    assert award.status == "terminated"  # action type F: terminate for convenience


def test_it_keeps_only_the_agencies_asked_for(companies, tmp_path):
    rows = [transaction(), transaction(piid="DOJ1", awarding_agency_code="015", awarding_sub_agency_code="1544"),
            transaction(piid="CBP1", subtier="7014")]
    path = write_transactions(tmp_path / "mixed.csv", rows)
    assert "3 rows read, 2 in scope" in run("ingest", path).output
    assert set(Award.objects.values_list("piid", flat=True)) == {"HSCETC13F00030", "CBP1"}
    Award.objects.all().delete()
    assert "1 in scope" in run("ingest", "--agency", "7014", path).output
    assert list(Award.objects.values_list("piid", flat=True)) == ["CBP1"]


def test_it_reports_malformed_rows_with_file_and_line_and_goes_on(companies, tmp_path):
    path = write_transactions(tmp_path / "bad.csv", [transaction(), transaction(mod="P1", federal_action_obligation="12x"),
                                                     transaction(mod="P2", action_date="31/31/2024")])
    with path.open("a") as handle:
        handle.write("too,few,columns\r\n")
    result = run("ingest", path)
    assert result.exit_code == 0, result.output
    assert f"{path}:3: obligation 12x is not an amount" in result.stderr
    assert f"{path}:4: action_date 31/31/2024 is not a date" in result.stderr
    assert f"{path}:5: malformed record" in result.stderr
    assert Transaction.objects.count() == 1


def test_it_stops_with_strict_and_leaves_nothing_behind(companies, tmp_path):
    good = write_transactions(tmp_path / "good.csv", [transaction()])
    bad = write_transactions(tmp_path / "bad.csv", [transaction(piid="OTHER"), transaction(piid="OTHER", mod="P1", federal_action_obligation="NaN?")])
    result = run("ingest", "--strict", good, bad)
    assert result.exit_code == 1
    assert f"{bad}:3: obligation NaN? is not an amount" in result.output
    assert list(Award.objects.values_list("piid", flat=True)) == ["HSCETC13F00030"]  # the good file, whole
    assert not Award.objects.filter(piid="OTHER").exists()
    assert LoadRun.objects.count() == 1


def test_it_reads_zip_archives_split_in_parts(companies, tmp_path):
    one = write_transactions(tmp_path / "part_1.csv", [transaction()])
    two = write_transactions(tmp_path / "part_2.csv", [transaction(mod="P00001", federal_action_obligation="1")])
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(one, "Contracts_PrimeTransactions_1.csv")
        handle.write(two, "Contracts_PrimeTransactions_2.csv")
    result = run("ingest", archive)
    assert result.exit_code == 0, result.output
    assert show("palantir")["total_obligated"] == 1001.0


def test_it_refuses_files_it_does_not_know(companies, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    result = run("ingest", path)
    assert result.exit_code == 1
    assert f"{path}: line 1: not a USAspending contracts file" in result.output
    assert run("ingest", tmp_path / "missing.csv").exit_code != 0


def test_it_needs_the_dictionary_for_header_less_legacy_files(companies, tmp_path):
    copy = tmp_path / "fy14.csv"
    copy.write_bytes((LEGACY / "fy14.csv").read_bytes())
    result = run("ingest", copy)
    assert result.exit_code == 1 and "column dictionary" in result.output
    result = run("ingest", "--legacy-columns", LEGACY / "follow_the_money_data_dictionary.csv", copy)
    assert result.exit_code == 0, result.output


def test_it_gives_new_awards_the_figures_a_reload_would_compute(companies, tmp_path):
    path = write_transactions(tmp_path / "a.csv", [
        transaction(piid="STOPPED", mod="0", action_date="2024-01-05"),
        transaction(piid="STOPPED", mod="P00001", action_date="2024-02-05", transaction_description="STOP WORK ORDER"),
        transaction(piid="RUNNING", period_of_performance_current_end_date="2099-01-01", federal_action_obligation="1,234.56"),
        transaction(piid="CLOSED", mod="0", action_date="2023-09-30"),
        transaction(piid="CLOSED", mod="P00002", action_type_code="K", federal_action_obligation="-0.01"),
        transaction(piid="TWICE", federal_action_obligation="1", period_of_performance_current_end_date="2024-06-30"),
        transaction(piid="TWICE", federal_action_obligation="2", period_of_performance_current_end_date="2024-06-30"),
    ])  # TWICE: the same key twice, the last row counts
    figures = ["piid", "transaction_count", "transaction_total", "obligated", "first_action_date", "last_action_date",
               "fiscal_year", "status"]
    assert run("ingest", path).exit_code == 0
    first = sorted(Award.objects.values_list(*figures))
    assert run("ingest", path).exit_code == 0  # the awards exist now: the database computes their figures
    assert sorted(Award.objects.values_list(*figures)) == first
    status = {piid: (count, total, state) for piid, count, total, _, _, _, _, state in first}
    assert status == {"STOPPED": (2, 2000, "stop_work"), "RUNNING": (1, Decimal("1234.56"), "active"),
                      "CLOSED": (2, Decimal("999.99"), "closed"), "TWICE": (1, 2, "ended")}
    assert Award.objects.get(piid="CLOSED").fiscal_year == 2023


def test_it_keeps_the_last_row_of_a_key_and_a_delta_s_new_row_for_a_key_it_deletes(companies, tmp_path):
    path = write_transactions(tmp_path / "a.csv", [
        transaction(piid="TWICE", federal_action_obligation="1"),
        transaction(piid="OTHER", awarding_agency_code="015", awarding_sub_agency_code="1544"),
        transaction(piid="TWICE", mod="P00001", federal_action_obligation="10"),
        transaction(piid="TWICE", federal_action_obligation="2"),
        transaction(piid="TWICE", mod="P00001", federal_action_obligation="20", transaction_description="X"),
    ])
    result = run("ingest", path)
    assert result.exit_code == 0, result.output
    assert "5 rows read, 4 in scope" in result.output
    award = Award.objects.get()
    assert (award.transaction_count, award.obligated) == (2, 22)
    assert Transaction.objects.get(modification_number="P00001").description == "X"

    # A delta file's deletions apply before its other rows: a key it deletes and gives again keeps the new row.
    key = "7012_4730_TWICE_P00001_GS35F0086U_0"
    delta = write_transactions(tmp_path / "delta.csv", [
        transaction(piid="TWICE", mod="P00002", federal_action_obligation="300", correction_delete_ind="C"),
        {"correction_delete_ind": "D", "contract_transaction_unique_key": key},
        {"correction_delete_ind": "D", "contract_transaction_unique_key": "7012_4730_TWICE_0_GS35F0086U_0"},
        transaction(piid="TWICE", federal_action_obligation="5", correction_delete_ind="C"),
    ], delta=True)
    result = run("ingest", delta)
    assert result.exit_code == 0, result.output
    assert "2 deleted" in result.output
    award.refresh_from_db()
    assert (award.transaction_count, award.obligated) == (2, 305)
    assert not Transaction.objects.filter(key=key).exists()
