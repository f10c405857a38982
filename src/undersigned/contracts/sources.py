"""The files USAspending publishes, how to recognise each, and how DuckDB reads and normalises it.

Every file is read with explicit CSV settings (the sniffer fails on the 286-column header) and every
column as text; DuckDB then parses dates and amounts, filters to the agencies asked for, and hands the
loader a few narrow, clean relations.
"""

from __future__ import annotations

import csv
import io
import mmap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from undersigned.contracts import derived
from undersigned.contracts.parsing import ISO_DATE_SQL, SLASH_DATE_SQL

TRANSACTIONS = "prime-transactions"
DELTA = "prime-transactions-delta"
AWARDS = "prime-award-summaries"
SUBAWARDS = "subawards"
LEGACY = "legacy-transactions"
DICTIONARY = "legacy-column-dictionary"
ENTITY_NAMES = "entity-names"
COLUMN_LIST = "column-list"

LOADABLE = {TRANSACTIONS, DELTA, AWARDS, SUBAWARDS, LEGACY}
DICTIONARY_NAME = "follow_the_money_data_dictionary.csv"
# buffer_size: DuckDB reads 16 times max_line_size at a time by default (160 MB here, times the threads:
# 0.8 GB of peak memory for nothing); 32 MB reads as fast.
CSV_OPTIONS = ("delim=',', quote='\"', escape='\"', all_varchar=true, store_rejects=true, max_line_size=10000000, "
               "buffer_size=33554432")


class SourceError(Exception):
    """A file that cannot be read as any known kind (message names the file)."""


@dataclass
class Source:
    path: Path  # a CSV on disk (ZIP members are extracted first)
    label: str  # what to call it in messages: the path, or "archive.zip:member.csv"
    kind: str
    header: bool = True
    columns: list[str] | None = None  # for header-less legacy files

    @property
    def header_lines(self) -> int:
        return 1 if self.header else 0


def first_record(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        head = handle.read(1 << 20)
    if not head.strip():
        return []
    try:
        return next(csv.reader(io.StringIO(head)))
    except (csv.Error, StopIteration):
        return []


def read_dictionary(path: Path) -> list[str]:
    """Column names, in order, from the legacy column dictionary (``A,award_id_piid`` lines)."""
    names = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) >= 2 and row[1].strip():
                names.append(row[1].strip())
    return names


def detect(path: Path, label: str, dictionary: list[str] | None) -> Source:
    """Recognise a CSV by its first record (or, for the header-less legacy files, its width)."""
    if path.suffix.lower() == ".txt":
        return Source(path, label, COLUMN_LIST)
    record = first_record(path)
    if not record:
        raise SourceError(f"{label}: line 1: empty file")
    first = record[0].strip().lower()
    names = {name.strip().lower() for name in record}
    if first == "correction_delete_ind" and "contract_transaction_unique_key" in names:
        return Source(path, label, DELTA)
    if first == "contract_transaction_unique_key":
        return Source(path, label, TRANSACTIONS)
    if first == "contract_award_unique_key":
        return Source(path, label, AWARDS)
    if first == "prime_award_unique_key" and "subaward_number" in names:
        return Source(path, label, SUBAWARDS)
    if first == "award_id_piid" and "federal_action_obligation" in names:
        return Source(path, label, LEGACY, header=True)
    if len(record) == 2 and len(record[0]) <= 3 and record[0].isalpha() and record[0].isupper():
        return Source(path, label, DICTIONARY)
    if first in ("duns", "name") and len(record) <= 6:
        return Source(path, label, ENTITY_NAMES)
    if dictionary and len(record) == len(dictionary):
        return Source(path, label, LEGACY, header=False, columns=dictionary)
    if len(record) > 200 and not dictionary:
        raise SourceError(
            f"{label}: line 1: a header-less file of {len(record)} columns; give the legacy column dictionary "
            f"({DICTIONARY_NAME}) as well, or --legacy-columns PATH"
        )
    raise SourceError(f"{label}: line 1: not a USAspending contracts file this program knows (first column {record[0]!r})")


def locate_line(path: Path, needle: str) -> int | None:
    """The line on which ``needle`` first occurs in a file (for reporting a malformed record)."""
    if not needle:
        return None
    try:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            position = data.find(needle.encode())
            if position < 0:
                return None
            return data[:position].count(b"\n") + 1
    except (OSError, ValueError):
        return None


# --- DuckDB -----------------------------------------------------------------------------------------

MACROS = f"""
-- trim, without a copy of the (nearly all) values that have no space to trim: a third of the typing's time.
CREATE OR REPLACE MACRO tr(s) AS CASE WHEN prefix(s, ' ') OR suffix(s, ' ') THEN trim(s) ELSE s END;
CREATE OR REPLACE MACRO nb(s) AS CASE WHEN s IS NULL OR upper(tr(s)) IN ('', 'NAN', 'NULL', 'NONE') THEN NULL ELSE tr(s) END;
CREATE OR REPLACE MACRO nbt(t) AS CASE WHEN strlen(t) > 4 THEN t WHEN upper(t) IN ('', 'NAN', 'NULL', 'NONE') THEN NULL ELSE t END;
CREATE OR REPLACE MACRO yy(t) AS CASE WHEN length(t) = 2 THEN t::INT + CASE WHEN t::INT <= 68 THEN 2000 ELSE 1900 END ELSE t::INT END;
CREATE OR REPLACE MACRO mkdate(y, m, d) AS TRY_CAST(printf('%04d-%02d-%02d', y, m, d) AS DATE);
CREATE OR REPLACE MACRO iso_part(s, g) AS regexp_extract(s, '{ISO_DATE_SQL}', g);
CREATE OR REPLACE MACRO sl_part(s, g) AS regexp_extract(s, '{SLASH_DATE_SQL}', g);
CREATE OR REPLACE MACRO parse_date(s, dayfirst) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN regexp_full_match(s, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN TRY_CAST(s AS DATE)
    WHEN nb(s) IS NULL THEN NULL
    WHEN regexp_matches(tr(s), '{ISO_DATE_SQL}')
        THEN mkdate(iso_part(tr(s), 1)::INT, iso_part(tr(s), 2)::INT, iso_part(tr(s), 3)::INT)
    WHEN regexp_matches(tr(s), '{SLASH_DATE_SQL}') THEN CASE WHEN dayfirst
        THEN mkdate(yy(sl_part(tr(s), 3)), sl_part(tr(s), 2)::INT, sl_part(tr(s), 1)::INT)
        ELSE mkdate(yy(sl_part(tr(s), 3)), sl_part(tr(s), 1)::INT, sl_part(tr(s), 2)::INT) END
    ELSE NULL END;
CREATE OR REPLACE MACRO parse_amount(s) AS CASE WHEN nb(s) IS NULL THEN 0::DECIMAL(18,2)
    ELSE TRY_CAST(replace(replace(tr(s), ',', ''), '$', '') AS DECIMAL(18,2)) END;
CREATE OR REPLACE MACRO fy(d) AS CASE WHEN d IS NULL THEN NULL WHEN month(d) >= 10 THEN year(d) + 1 ELSE year(d) END;
CREATE OR REPLACE MACRO duns9(s) AS CASE WHEN nb(s) IS NULL THEN NULL
    WHEN regexp_full_match(tr(s), '[0-9]{{1,9}}') THEN lpad(tr(s), 9, '0') ELSE tr(s) END;
"""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scope_sql(agency_col: str, subtier_col: str, agencies: list[str]) -> str:
    toptier = [code for code in agencies if len(code) <= 3]
    subtier = [code for code in agencies if len(code) == 4]
    parts = []
    if toptier:
        parts.append(f"lpad(tr({q(agency_col)}), 3, '0') IN ({', '.join(repr(c.zfill(3)) for c in toptier)})")
    if subtier:
        parts.append(f"tr({q(subtier_col)}) IN ({', '.join(repr(c) for c in subtier)})")
    return "(" + (" OR ".join(parts) or "true") + ")"


# Per kind: the columns kept (normalised name → source column) and the agency columns for the filter.
# (Not read from the current files: transaction number, parent agency, IDV flag — the keys are given;
# every column kept costs the CSV reader time on every row of the file, in scope or not.)
TRANSACTION_COLUMNS = {
    "tx_key": "contract_transaction_unique_key",
    "award_key": "contract_award_unique_key",
    "piid": "award_id_piid",
    "modification_number": "modification_number",
    "parent_piid": "parent_award_id_piid",
    "obligation": "federal_action_obligation",
    "action_date": "action_date",
    "end_date": "period_of_performance_current_end_date",
    "agency_code": "awarding_agency_code",
    "subtier_code": "awarding_sub_agency_code",
    "subtier_name": "awarding_sub_agency_name",
    "recipient_uei": "recipient_uei",
    "recipient_duns": "recipient_duns",
    "recipient_name": "recipient_name",
    "parent_uei": "recipient_parent_uei",
    "parent_duns": "recipient_parent_duns",
    "parent_name": "recipient_parent_name",
    "tx_description": "transaction_description",
    "award_description": "prime_award_base_transaction_description",
    "action_type_code": "action_type_code",
    "psc": "product_or_service_code",
    "naics": "naics_code",
    "award_type": "award_type",
}
LEGACY_COLUMNS = {
    "piid": "award_id_piid",
    "modification_number": "modification_number",
    "transaction_number": "transaction_number",
    "parent_agency": "parent_award_agency_id",
    "parent_piid": "parent_award_id",
    "obligation": "federal_action_obligation",
    "action_date": "action_date",
    "end_date": "period_of_performance_current_end_date",
    "agency_code": "awarding_agency_code",
    "subtier_code": "awarding_sub_agency_code",
    "subtier_name": "awarding_sub_agency_name",
    "recipient_duns": "recipient_duns",
    "recipient_name": "recipient_name",
    "parent_duns": "recipient_parent_duns",
    "parent_name": "recipient_parent_name",
    "tx_description": "award_description",
    "action_type_code": "action_type_code",
    "psc": "product_or_service_code",
    "naics": "naics_code",
    "award_type": "award_type",
    "idv_flag": "award_or_idv_flag",
}
AWARD_COLUMNS = {
    "award_key": "contract_award_unique_key",
    "piid": "award_id_piid",
    "parent_piid": "parent_award_id_piid",
    "obligation": "total_obligated_amount",
    "first_date": "award_base_action_date",
    "last_date": "award_latest_action_date",
    "end_date": "period_of_performance_current_end_date",
    "agency_code": "awarding_agency_code",
    "subtier_code": "awarding_sub_agency_code",
    "subtier_name": "awarding_sub_agency_name",
    "recipient_uei": "recipient_uei",
    "recipient_duns": "recipient_duns",
    "recipient_name": "recipient_name",
    "parent_uei": "recipient_parent_uei",
    "parent_duns": "recipient_parent_duns",
    "parent_name": "recipient_parent_name",
    "award_description": "prime_award_base_transaction_description",
    "psc": "product_or_service_code",
    "naics": "naics_code",
    "award_type": "award_type",
}
SUBAWARD_COLUMNS = {
    "prime_award_key": "prime_award_unique_key",
    "prime_piid": "prime_award_piid",
    "prime_recipient_name": "prime_awardee_name",
    "agency_code": "prime_award_awarding_agency_code",
    "subtier_code": "prime_award_awarding_sub_agency_code",
    "report_id": "subaward_fsrs_report_id",
    "number": "subaward_number",
    "amount": "subaward_amount",
    "action_date": "subaward_action_date",
    "recipient_uei": "subawardee_uei",
    "recipient_duns": "subawardee_duns",
    "recipient_name": "subawardee_name",
    "parent_uei": "subawardee_parent_uei",
    "parent_name": "subawardee_parent_name",
    "description": "subaward_description",
}
COLUMNS_BY_KIND = {TRANSACTIONS: TRANSACTION_COLUMNS, DELTA: TRANSACTION_COLUMNS, LEGACY: LEGACY_COLUMNS,
                   AWARDS: AWARD_COLUMNS, SUBAWARDS: SUBAWARD_COLUMNS}
AMOUNT_COLUMNS = {"obligation", "amount"}
DATE_COLUMNS = {"action_date", "end_date", "first_date", "last_date"}


def read_csv_sql(source: Source) -> str:
    """Explicit columns, no sniffing: a file of a few rows, one of them ragged, must still be read."""
    path = str(source.path).replace("'", "''")
    names = source.columns if not source.header else [name.strip() for name in first_record(source.path)]
    columns = ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in names)
    header = "true" if source.header else "false"
    return f"read_csv('{path}', header={header}, auto_detect=false, columns={{{columns}}}, {CSV_OPTIONS})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def staging_sql(source: Source, agencies: list[str]) -> str:
    """One pass over the file, to the table ``staged``: a row for every record, so that the records read
    can be counted and a record's number is its ``rowid``. The kept columns of a record in scope are a list
    (``kept``, in ``COLUMNS_BY_KIND`` order): out of scope, that list is NULL and costs nothing to store,
    where NULL columns cost as much as full ones (the file holds ten times more records than the load)."""
    columns = COLUMNS_BY_KIND[source.kind]
    scope = scope_sql(columns["agency_code"], columns["subtier_code"], agencies)
    kept = [q(column) for column in columns.values()]
    if source.kind == DELTA:  # a deletion may name only the key; deleting an unknown key is harmless
        scope = f"({scope} OR upper(trim(correction_delete_ind)) = 'D')"
        kept.append("upper(trim(correction_delete_ind))")
    return (
        f"CREATE OR REPLACE TABLE staged AS SELECT in_scope, CASE WHEN in_scope THEN [{', '.join(kept)}] END AS kept "
        f"FROM (SELECT *, {scope} AS in_scope FROM {read_csv_sql(source)})"
    )


def normalised_sql(source: Source) -> str:
    """The staged records in scope, typed, with a ``problem`` text for those that cannot be loaded.

    Each value is trimmed and parsed once (innermost query), the problems are read off the parsed values
    (middle), and the raw text kept for the messages is dropped (outer)."""
    kind = source.kind
    dayfirst = "true" if kind == LEGACY else "false"
    columns = COLUMNS_BY_KIND[kind]
    inner = ["rowid AS record"]  # trimmed text, or the raw text where a parser reads it
    typed = ["record"]
    raw = []
    problems = []
    for at, name in enumerate(columns, start=1):
        parsed = name in AMOUNT_COLUMNS | DATE_COLUMNS | {"recipient_duns", "parent_duns"}
        inner.append(f"{f'kept[{at}]' if parsed else f'tr(kept[{at}])'} AS {name}")
        if name in AMOUNT_COLUMNS:
            typed += [f"parse_amount({name}) AS {name}", f"{name} AS {name}__raw"]
            problems.append(f"CASE WHEN {name} IS NULL THEN '{name} ' || {name}__raw || ' is not an amount' END")
            raw.append(f"{name}__raw")
        elif name in DATE_COLUMNS:
            typed += [f"parse_date({name}, {dayfirst}) AS {name}", f"{name} AS {name}__raw"]
            problems.append(
                f"CASE WHEN {name} IS NULL AND nb({name}__raw) IS NOT NULL "
                f"THEN '{name} ' || {name}__raw || ' is not a date' END"
            )
            raw.append(f"{name}__raw")
        elif name in ("recipient_duns", "parent_duns"):
            typed.append(f"duns9({name}) AS {name}")
        elif name == "agency_code":
            typed.append(f"lpad(nbt({name}), 3, '0') AS {name}")
        else:
            typed.append(f"nbt({name}) AS {name}")
    if kind == DELTA:
        inner.append(f"kept[{len(columns) + 1}] AS delete_ind")
        typed.append("delete_ind")
    if kind in (TRANSACTIONS, DELTA, LEGACY, AWARDS):
        problems.append("CASE WHEN piid IS NULL THEN 'no award id (PIID)' END")
    if kind in (TRANSACTIONS, DELTA, AWARDS):
        key = "tx_key" if kind != AWARDS else "award_key"
        problems.append(f"CASE WHEN {key} IS NULL THEN 'no unique key' END")
    if kind == SUBAWARDS:
        problems.append("CASE WHEN prime_award_key IS NULL THEN 'no prime award key' END")
    problem = f"concat_ws('; ', {', '.join(problems)})" if problems else "''"
    if kind == DELTA:  # a deletion needs nothing but its key
        problem = (f"CASE WHEN delete_ind = 'D' THEN CASE WHEN tx_key IS NULL THEN 'no unique key' "
                   f"ELSE '' END ELSE {problem} END")
    exclude = f" EXCLUDE ({', '.join(raw)})" if raw else ""
    # A table, not a view: every later query (problems, recipients, awards, transactions) reads it.
    return (
        f"CREATE OR REPLACE TABLE norm AS SELECT *{exclude} FROM ("
        f"SELECT *, {problem} AS problem FROM ("
        f"SELECT {', '.join(typed)} FROM ("
        f"SELECT {', '.join(inner)} FROM staged WHERE in_scope)))"
    )


def keyed_sql(source: Source) -> str:
    """Transactions of any kind with their keys (built as USAspending builds them when a file lacks them)."""
    if source.kind == LEGACY:
        return """
        CREATE OR REPLACE VIEW tx AS SELECT *,
            CASE WHEN upper(coalesce(idv_flag, '')) = 'IDV'
                 THEN 'CONT_IDV_' || piid || '_' || coalesce(subtier_code, '-NONE-')
                 ELSE 'CONT_AWD_' || piid || '_' || coalesce(subtier_code, '-NONE-') || '_' || coalesce(parent_piid, '-NONE-')
                      || '_' || coalesce(parent_agency, '-NONE-') END AS award_key,
            coalesce(subtier_code, '-NONE-') || '_' || coalesce(parent_agency, '-NONE-') || '_' || piid || '_'
                || coalesce(modification_number, '0') || '_' || coalesce(parent_piid, '-NONE-') || '_'
                || coalesce(transaction_number, '0') AS tx_key,
            NULL AS recipient_uei, NULL AS parent_uei, NULL AS award_description
        FROM norm WHERE problem = ''
        """
    return "CREATE OR REPLACE VIEW tx AS SELECT * FROM norm WHERE problem = ''" + (
        " AND coalesce(delete_ind, '') <> 'D'" if source.kind == DELTA else ""
    )


RECIPIENT_KEY = (
    "coalesce(recipient_uei, 'DUNS:' || recipient_duns, 'NAME:' || upper(recipient_name), 'UNKNOWN')"
)
ORDER = "(coalesce(action_date, DATE '1900-01-01'), coalesce(modification_number, ''))"

RECIPIENTS_FROM_TX = f"""
SELECT {RECIPIENT_KEY} AS key,
    arg_max(coalesce(recipient_uei, ''), {ORDER}), arg_max(coalesce(recipient_duns, ''), {ORDER}),
    arg_max(coalesce(recipient_name, ''), {ORDER}), arg_max(coalesce(parent_uei, ''), {ORDER}),
    arg_max(coalesce(parent_duns, ''), {ORDER}), arg_max(coalesce(parent_name, ''), {ORDER})
FROM tx GROUP BY 1
"""
RECIPIENT_ROWS = f"CREATE OR REPLACE TABLE recipient_rows AS {RECIPIENTS_FROM_TX}"
AWARDS_FROM_TX = f"""
SELECT substr(award_key, 1, 200), any_value(piid), coalesce(any_value(parent_piid), ''), any_value(agency_code),
    coalesce(any_value(subtier_code), ''), coalesce(any_value(subtier_name), ''),
    arg_max({RECIPIENT_KEY}, {ORDER}),
    coalesce(any_value(award_description), arg_min(tx_description, {ORDER}) FILTER (WHERE tx_description IS NOT NULL), ''),
    coalesce(arg_max(psc, {ORDER}) FILTER (WHERE psc IS NOT NULL), ''),
    coalesce(arg_max(naics, {ORDER}) FILTER (WHERE naics IS NOT NULL), ''),
    coalesce(arg_max(award_type, {ORDER}) FILTER (WHERE award_type IS NOT NULL), ''),
    CAST(arg_max(end_date, {ORDER}) FILTER (WHERE end_date IS NOT NULL) AS VARCHAR)
FROM tx GROUP BY 1
"""
# The transactions as the database stores them (clipped to the column sizes), one row per key: a key
# repeated in a file keeps its last row. Finding the last row takes a window over the whole file (four
# times the cost of the rest), so it runs only when a key does repeat (``REPEATED_KEYS``).
REPEATED_KEYS = "SELECT count(*) > count(DISTINCT substr(tx_key, 1, 240)) FROM tx"


def tx_rows_sql(repeated: bool) -> str:
    last = "QUALIFY row_number() OVER (PARTITION BY substr(tx_key, 1, 240) ORDER BY record DESC) = 1"
    return f"""
CREATE OR REPLACE TABLE tx_rows AS
SELECT substr(tx_key, 1, 240) AS key, substr(award_key, 1, 200) AS award_id,
    substr(coalesce(modification_number, ''), 1, 40) AS modification_number, action_date, fy(action_date) AS fiscal_year,
    obligation, substr(coalesce(action_type_code, ''), 1, 4) AS action_type_code, coalesce(tx_description, '') AS description
FROM tx
{last if repeated else ""}
"""


TRANSACTION_ROW_COLUMNS = ["key", "award_id", "modification_number", "action_date", "fiscal_year", "obligation",
                           "action_type_code", "description"]
# Dates and amounts leave DuckDB as text: the database parses them (no Python object per value).
TRANSACTION_ROWS = """
SELECT key, award_id, modification_number, CAST(action_date AS VARCHAR), fiscal_year, CAST(obligation AS VARCHAR),
    action_type_code, description
FROM tx_rows ORDER BY key
"""
AWARD_ROW_COLUMNS = ["award_key", "piid", "parent_piid", "agency_code", "subtier_code", "subtier_name", "recipient_id",
                     "description", "psc", "naics", "award_type", "end_date", "search_text", "first_loaded_at",
                     "updated_at", "link_method", *derived.COLUMNS]


def award_rows_sql(now: str, today: date) -> str:
    """The awards of the transactions, as rows the database receives (``AWARD_ROW_COLUMNS``): clipped to the
    column sizes, the search text made, the bookkeeping columns filled (``now``: the load's timestamp as the
    database's text) and the figures derived from the file's transactions — no Python per row.

    ``search_text`` is '' where the text is not ASCII: Python upper-cases those (``ß`` → ``SS``), after."""
    figures = derived.figures_sql("tx_rows", "(SELECT DISTINCT award_id AS key FROM tx_rows)")
    columns = derived.columns_sql("f", "w", today)
    typed = {"first_action_date", "last_action_date", "transaction_total", "obligated"}
    values = [f"CAST({columns[name]} AS VARCHAR)" if name in typed else columns[name] for name in derived.COLUMNS]
    stamp = _literal(now)
    return f"""
CREATE OR REPLACE TABLE award_rows AS
SELECT w.award_key, substr(w.piid, 1, 60) AS piid, substr(w.parent_piid, 1, 60), substr(coalesce(w.agency_code, ''), 1, 3),
    substr(w.subtier_code, 1, 4), substr(w.subtier_name, 1, 200), substr(w.recipient, 1, 120), w.description AS description,
    substr(w.psc, 1, 10), substr(w.naics, 1, 10), substr(w.award_type, 1, 60), w.end_date,
    CASE WHEN regexp_matches(w.piid || w.description, '[^\x01-\x7f]') THEN '' ELSE upper(w.piid || ' ' || w.description) END
        AS search_text,
    {stamp}, {stamp}, '', {', '.join(values)}
FROM (
    SELECT *, NULL::DECIMAL(18, 2) AS summary_obligated, NULL::DATE AS summary_first_date,
        NULL::DATE AS summary_last_date, NULL::INTEGER AS summary_fiscal_year
    FROM ({AWARDS_FROM_TX}) AS a(award_key, piid, parent_piid, agency_code, subtier_code, subtier_name, recipient,
        description, psc, naics, award_type, end_date)
) AS w JOIN ({figures}) AS f ON f.award_key = w.award_key
ORDER BY 1
"""


RECIPIENTS_FROM_AWARDS = f"""
SELECT {RECIPIENT_KEY} AS key, any_value(coalesce(recipient_uei, '')), any_value(coalesce(recipient_duns, '')),
    any_value(coalesce(recipient_name, '')), any_value(coalesce(parent_uei, '')), any_value(coalesce(parent_duns, '')),
    any_value(coalesce(parent_name, ''))
FROM norm WHERE problem = '' GROUP BY 1
"""
AWARDS_FROM_SUMMARIES = f"""
SELECT award_key, any_value(piid), coalesce(any_value(parent_piid), ''), any_value(agency_code),
    coalesce(any_value(subtier_code), ''), coalesce(any_value(subtier_name), ''), any_value({RECIPIENT_KEY}),
    coalesce(any_value(award_description), ''), coalesce(any_value(psc), ''), coalesce(any_value(naics), ''),
    coalesce(any_value(award_type), ''), any_value(end_date), any_value(obligation), any_value(first_date),
    any_value(last_date), fy(any_value(first_date)), fy(any_value(last_date))
FROM norm WHERE problem = '' GROUP BY award_key
"""
RECIPIENTS_FROM_SUBAWARDS = f"""
SELECT {RECIPIENT_KEY} AS key, any_value(coalesce(recipient_uei, '')), any_value(coalesce(recipient_duns, '')),
    any_value(coalesce(recipient_name, '')), any_value(coalesce(parent_uei, '')), '', any_value(coalesce(parent_name, ''))
FROM norm WHERE problem = '' GROUP BY 1
"""
SUBAWARDS_SQL = f"""
SELECT sha256(prime_award_key || '|' || coalesce(number, '') || '|' || coalesce(report_id, '') || '|' || coalesce(CAST(action_date AS VARCHAR), '')),
    any_value(prime_award_key), coalesce(any_value(prime_piid), ''), coalesce(any_value(prime_recipient_name), ''),
    coalesce(any_value(subtier_code), ''), coalesce(any_value(number), ''), any_value({RECIPIENT_KEY}),
    any_value(amount), any_value(action_date), coalesce(any_value(description), '')
FROM norm WHERE problem = '' GROUP BY 1
"""
