"""Property tests for the parsers: Python's and DuckDB's date and amount rules agree, names clean stably."""

from datetime import date
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from undersigned.contracts import sources
from undersigned.contracts.parsing import ParseError, clean_name, fiscal_year, parse_amount, parse_date

dates = st.dates(min_value=date(1970, 1, 1), max_value=date(2068, 12, 31))


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect()
    con.execute(sources.MACROS)
    yield con
    con.close()


def formats(day: date, dayfirst: bool) -> list[str]:
    first, second = (day.day, day.month) if dayfirst else (day.month, day.day)
    return [day.isoformat(), f"{day.isoformat()} 00:00:00", f"{first}/{second}/{day.year}",
            f"{first:02d}/{second:02d}/{day.year % 100:02d}", f"{first}/{second}/{day.year % 100:02d} 00:00"]


@given(dates, st.booleans())
@settings(max_examples=150, deadline=None)
def test_it_reads_every_date_format_the_files_use(day, dayfirst):
    for text in formats(day, dayfirst):
        assert parse_date(text, dayfirst=dayfirst) == day, text


@given(dates, st.booleans())
@settings(max_examples=20, deadline=None)
def test_it_parses_dates_in_duckdb_as_in_python(duck, day, dayfirst):
    for text in formats(day, dayfirst):
        parsed = duck.execute("SELECT parse_date(?, ?)", [text, dayfirst]).fetchone()[0]
        assert parsed == parse_date(text, dayfirst=dayfirst), text


@given(st.text(max_size=12))
@settings(max_examples=60, deadline=None)
def test_it_agrees_with_duckdb_on_what_is_not_a_date(duck, text):
    try:
        expected = parse_date(text)
    except ParseError:
        expected = None
    if text.strip().upper() in ("NAN", "NULL", "NONE"):
        return
    assert duck.execute("SELECT parse_date(?, false)", [text]).fetchone()[0] == expected


def test_it_reads_the_formats_seen_in_the_real_files():
    assert parse_date("5/10/23") == date(2023, 5, 10)  # re-saved by a spreadsheet program
    assert parse_date("25/07/2013", dayfirst=True) == date(2013, 7, 25)  # legacy, day first
    assert parse_date("25/07/13 00:00", dayfirst=True) == date(2013, 7, 25)
    assert parse_date("") is None
    with pytest.raises(ParseError):
        parse_date("31/31/2024")


@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
@settings(max_examples=150, deadline=None)
def test_it_parses_amounts_in_duckdb_as_in_python(duck, amount):
    text = str(amount)
    assert parse_amount(text) == amount
    assert duck.execute("SELECT parse_amount(?)", [text]).fetchone()[0] == amount


def test_it_refuses_what_is_not_an_amount():
    assert parse_amount("1,234.5") == Decimal("1234.50")
    for text in ("12x", "NaN", "inf"):
        with pytest.raises(ParseError):
            parse_amount(text)


@given(dates)
def test_it_counts_federal_fiscal_years_from_october(day):
    assert fiscal_year(day) == (day.year + 1 if day.month >= 10 else day.year)


names = st.text(alphabet=st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), max_size=40)


@given(names)
def test_it_cleans_names_stably(name):
    assert clean_name(clean_name(name)) == clean_name(name)
    assert clean_name(name.upper()) == clean_name(name.lower())


@given(st.sampled_from(["", ", INC.", " LLC", ", LTD", ", LIMITED", " CORPORATION", " Corp.", ", L.L.C."]))
def test_it_merges_legal_forms_but_keeps_namesakes_apart(suffix):
    assert clean_name("PEN-LINK" + suffix) == "pen link"
    names = {clean_name(n + suffix) for n in ("PARAGON PROFESSIONAL SERVICES", "PARAGON SYSTEMS", "PARAGON SOLUTIONS (US)")}
    assert len(names) == 3
