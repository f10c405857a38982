"""What an award's figures are, derived from its transactions: count, total, dates, fiscal year, status.

Written once, as SQL that DuckDB, SQLite and PostgreSQL all run. The database runs it over the stored
transactions of the awards a load touched (``actions.refresh_awards``, which decides); DuckDB runs it over
a file's transactions, so that an award the load creates goes in with its figures right and the refresh
finds nothing to rewrite.
"""

from __future__ import annotations

from datetime import date

TERMINATION_CODES = ("E", "F", "N")  # terminate for default / for convenience, legal contract cancellation
CLOSEOUT_CODES = ("K",)

# The derived columns of an award, in this order wherever rows carry them.
COLUMNS = ["transaction_count", "transaction_total", "obligated", "first_action_date", "last_action_date",
           "fiscal_year", "status"]
MONEY = {"transaction_total", "obligated"}


def figures_sql(transactions: str, keys: str, *, percent: str = "%") -> str:
    """Per award key (column ``key`` of the relation ``keys``): what the relation ``transactions`` (shaped
    like the transaction table) holds for it. ``stop_work`` is 1 when the latest transaction (by action date,
    then modification number) says STOP WORK. ``percent``: ``%%`` where the SQL goes through Django."""
    latest = "coalesce(CAST(t.action_date AS VARCHAR(10)), '') || ' ' || coalesce(t.modification_number, '')"
    stop = f"upper(t.description) LIKE '{percent}STOP{percent}WORK{percent}'"
    return f"""
        SELECT k.key AS award_key, count(t.key) AS n, sum(t.obligation) AS total, min(t.action_date) AS first_day,
            max(t.action_date) AS last_day, min(t.fiscal_year) AS fy,
            sum(CASE WHEN t.action_type_code IN ({_codes(TERMINATION_CODES)}) THEN 1 ELSE 0 END) AS terminated,
            sum(CASE WHEN t.action_type_code IN ({_codes(CLOSEOUT_CODES)}) THEN 1 ELSE 0 END) AS closed,
            CASE WHEN max(CASE WHEN {stop} THEN {latest} END) = max({latest}) THEN 1 ELSE 0 END AS stop_work
        FROM {keys} k LEFT JOIN {transactions} t ON t.award_id = k.key
        GROUP BY k.key"""


def columns_sql(figures: str, award: str, today: date) -> dict[str, str]:
    """Each derived column as an expression of the figures (alias ``figures``) and of the award's own
    columns (alias ``award``: the summary file's figures, when one was loaded, and the end date).

    The total is the summary's when a summary file was loaded (it covers the award's whole life), else
    the sum of the modifications loaded; the dates span both."""
    f, a = figures, award
    return {
        "transaction_count": f"{f}.n",
        "transaction_total": f"coalesce({f}.total, 0)",
        "obligated": f"coalesce({a}.summary_obligated, {f}.total, 0)",
        "first_action_date": f"CASE WHEN {a}.summary_first_date IS NOT NULL AND ({f}.first_day IS NULL "
                             f"OR {a}.summary_first_date < {f}.first_day) THEN {a}.summary_first_date ELSE {f}.first_day END",
        "last_action_date": f"CASE WHEN {a}.summary_last_date IS NOT NULL AND ({f}.last_day IS NULL "
                            f"OR {a}.summary_last_date > {f}.last_day) THEN {a}.summary_last_date ELSE {f}.last_day END",
        "fiscal_year": f"coalesce({a}.summary_fiscal_year, {f}.fy)",
        "status": f"""CASE
            WHEN {f}.terminated > 0 THEN 'terminated'
            WHEN {f}.closed > 0 THEN 'closed'
            WHEN {f}.stop_work > 0 THEN 'stop_work'
            WHEN {a}.end_date IS NOT NULL AND {a}.end_date >= '{today.isoformat()}' THEN 'active'
            ELSE 'ended' END""",
    }


def _codes(codes: tuple[str, ...]) -> str:
    return ", ".join(f"'{code}'" for code in codes)
