"""Every change to the contract record goes through these functions (loaders, fetch, organizer area)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from django.db import connection
from django.utils import timezone

from undersigned.contracts import db, derived, sources
from undersigned.contracts.models import Award, Recipient, SubAward, Transaction
from undersigned.contracts.parsing import clean_name

AWARD = Award._meta.db_table
TX = Transaction._meta.db_table
RECIPIENT = Recipient._meta.db_table


def upsert_recipients(rows: Iterable[tuple]) -> set[str]:
    """Rows of (key, uei, duns, name, parent uei, parent duns, parent name). Returns the keys."""
    keys: set[str] = set()

    def prepared():
        for key, uei, duns, name, parent_uei, parent_duns, parent_name in rows:
            keys.add(key)
            yield (key[:120], uei[:12], duns[:13], name[:300], clean_name(name)[:300], parent_uei[:12],
                   parent_duns[:13], parent_name[:300])

    columns = ["key", "uei", "duns", "name", "clean_name", "parent_uei", "parent_duns", "parent_name"]
    # A later record may lack what an earlier one had (a parent); keep what is known.
    update = {column: f"CASE WHEN excluded.{column} <> '' THEN excluded.{column} ELSE {{t}}.{column} END"
              for column in columns if column != "key"}
    db.upsert(RECIPIENT, columns, ["key"], prepared(), update=update)
    return keys


AWARD_TX_COLUMNS = ["award_key", "piid", "parent_piid", "agency_code", "subtier_code", "subtier_name", "recipient_id",
                    "description", "psc", "naics", "award_type", "end_date", "first_action_date",
                    "search_text", "first_loaded_at", "updated_at", "obligated", "transaction_count", "status", "link_method"]


def upsert_awards_from_transactions(rows: Iterable[tuple], now: datetime | None = None) -> set[str]:
    """Rows of (award key, piid, parent piid, agency, subtier code, subtier name, recipient key,
    description, psc, naics, award type, end date, first action date in this batch)."""
    now = now or timezone.now()
    keys: set[str] = set()

    def prepared():
        for row in rows:
            keys.add(row[0])
            yield (*_clip_award(row), _search_text(row[1], row[7]), now, now, 0, 0, "ended", "")

    db.upsert(AWARD, AWARD_TX_COLUMNS, ["award_key"], prepared(), update=_award_tx_update())
    return keys


def upsert_award_rows(duck) -> tuple[set[str], set[str]]:
    """The same from the rows DuckDB made ready (table ``award_rows``, see ``sources.award_rows_sql``), their
    figures included: an award new to the database goes in final. Returns the award keys, and those of the
    awards that went in new."""
    fresh: set[str] = set()
    db.upsert_query(duck, "SELECT * FROM award_rows ORDER BY 1", AWARD, sources.AWARD_ROW_COLUMNS, ["award_key"],
                    update=_award_tx_update(), split=True, fresh=fresh)
    # Python's upper case of the text that is not ASCII (DuckDB left it blank), where this load's text won.
    fixes = [(_search_text(piid, description), key) for key, piid, description in duck.execute(
        "SELECT award_key, piid, description FROM award_rows WHERE search_text = ''").fetchall()]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {AWARD} SET search_text = %s WHERE award_key = %s AND search_text = ''", fixes)
    return {key for (key,) in duck.execute("SELECT award_key FROM award_rows").fetchall()}, fresh


def _award_tx_update() -> dict[str, str]:
    earlier = "(excluded.first_action_date IS NOT NULL AND ({t}.first_action_date IS NULL OR excluded.first_action_date < {t}.first_action_date))"
    keep_if_blank = "CASE WHEN excluded.{c} <> '' THEN excluded.{c} ELSE {{t}}.{c} END"
    update = {
        "piid": "excluded.piid", "parent_piid": "excluded.parent_piid", "agency_code": "excluded.agency_code",
        "subtier_code": keep_if_blank.format(c="subtier_code"), "subtier_name": keep_if_blank.format(c="subtier_name"),
        "recipient_id": "excluded.recipient_id",
        # The base award's description wins; a summary file, when loaded, is kept as it is.
        "description": f"CASE WHEN {{t}}.summary_obligated IS NULL AND ({{t}}.description = '' OR {earlier}) "
                       "THEN excluded.description ELSE {t}.description END",
        "search_text": f"CASE WHEN {{t}}.summary_obligated IS NULL AND ({{t}}.description = '' OR {earlier}) "
                       "THEN excluded.search_text ELSE {t}.search_text END",
        "psc": keep_if_blank.format(c="psc"), "naics": keep_if_blank.format(c="naics"),
        "award_type": keep_if_blank.format(c="award_type"),
        "end_date": "coalesce(excluded.end_date, {t}.end_date)",
        "updated_at": "excluded.updated_at",
    }
    return update


def _clip_award(row: tuple) -> tuple:
    key, piid, parent_piid, agency, subtier, subtier_name, recipient, description, psc, naics, award_type, end, first = row[:13]
    return (key[:200], piid[:60], parent_piid[:60], (agency or "")[:3], subtier[:4], subtier_name[:200],
            recipient[:120], description, psc[:10], naics[:10], award_type[:60], end, first)


def _search_text(piid: str, description: str) -> str:
    return f"{piid} {description}".upper()


AWARD_SUMMARY_COLUMNS = ["award_key", "piid", "parent_piid", "agency_code", "subtier_code", "subtier_name", "recipient_id",
                         "description", "psc", "naics", "award_type", "end_date", "summary_obligated",
                         "summary_first_date", "summary_last_date", "summary_fiscal_year", "summary_last_fiscal_year", "search_text",
                         "first_loaded_at", "updated_at", "obligated", "transaction_count", "status", "link_method"]


def upsert_awards_from_summaries(rows: Iterable[tuple], now: datetime | None = None, on_batch=None) -> set[str]:
    now = now or timezone.now()
    keys: set[str] = set()

    def prepared():
        for row in rows:
            keys.add(row[0])
            key, piid, parent_piid, agency, subtier, subtier_name, recipient, description, psc, naics, award_type, end = _clip_award(
                (*row[:12], None))[:12]
            obligated, first, last, fiscal, last_fiscal = row[12:17]
            yield (key, piid, parent_piid, agency, subtier, subtier_name, recipient, description, psc, naics, award_type,
                   end, obligated, first, last, fiscal, last_fiscal, _search_text(piid, description), now, now, 0, 0, "ended", "")

    update = {column: f"excluded.{column}" for column in AWARD_SUMMARY_COLUMNS
              if column not in ("award_key", "first_loaded_at", "obligated", "transaction_count", "status", "link_method")}
    db.upsert(AWARD, AWARD_SUMMARY_COLUMNS, ["award_key"], prepared(), update=update, on_batch=on_batch)
    return keys


def upsert_transactions(rows: Iterable[tuple], on_batch: Callable[[int], None] | None = None) -> int:
    """Rows of (key, award key, modification, action date, fiscal year, obligation, action type, description)."""
    clipped = ((key[:240], award, (mod or "")[:40], day, fy, amount, (code or "")[:4], text)
               for key, award, mod, day, fy, amount, code, text in rows)
    return db.upsert(TX, TX_COLUMNS, ["key"], clipped, on_batch=on_batch)


TX_COLUMNS = sources.TRANSACTION_ROW_COLUMNS


def upsert_transaction_rows(duck, on_batch: Callable[[int], None] | None = None) -> int:
    """The transactions DuckDB made ready (table ``tx_rows``, see ``sources.tx_rows_sql``)."""
    return db.upsert_query(duck, sources.TRANSACTION_ROWS, TX, TX_COLUMNS, ["key"], on_batch=on_batch, split=True)


def delete_transactions(keys: list[str]) -> set[str]:
    """Remove transactions a delta file marks deleted; returns the awards they belonged to."""
    awards: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        awards.update(Transaction.objects.filter(key__in=chunk).values_list("award_id", flat=True))
        Transaction.objects.filter(key__in=chunk).delete()
    return awards


def upsert_subawards(rows: Iterable[tuple], on_batch=None) -> int:
    columns = ["key", "prime_award_key", "prime_piid", "prime_recipient_name", "subtier_code", "number", "recipient_id",
               "amount", "action_date", "description"]
    clipped = ((key[:64], prime[:200], piid[:60], name[:300], subtier[:4], number[:100], recipient[:120], amount, day, text)
               for key, prime, piid, name, subtier, number, recipient, amount, day, text in rows)
    return db.upsert(SubAward._meta.db_table, columns, ["key"], clipped, on_batch=on_batch)


def refresh_awards(award_keys: set[str], recipient_keys: set[str] | None = None, *, today: date | None = None,
                   settled: set[str] = frozenset()) -> None:
    """Recompute what is derived for the awards a load touched: total (sum of modifications, else the
    summary's), dates, fiscal year, status; then link their recipients and assign categories.

    ``settled``: awards the load put in new, with figures DuckDB derived from all their transactions (the
    file's): theirs are not recomputed."""
    from undersigned.contracts import attribution, categories

    today = today or timezone.localdate()
    if award_keys:
        db.temp_keys("touched_award", award_keys, flagged=settled)
        # The settled awards went in with their transactions: none of them needs a new figure or the DELETE.
        if not award_keys <= settled:
            # One pass over the other touched awards' transactions (an index range each), then one UPDATE
            # of the awards whose figures change.
            columns = derived.columns_sql("a", AWARD, today)
            sets = ", ".join(f"{column} = {expression}" for column, expression in columns.items())
            changed = " OR ".join(
                f"abs({AWARD}.{column} - {expression}) >= 0.005" if column in derived.MONEY  # SQLite sums in floats
                else db.differs(f"{AWARD}.{column}", expression)
                for column, expression in columns.items())
            unsettled = "(SELECT key FROM touched_award WHERE NOT flag)"
            db.execute(f"UPDATE {AWARD} SET {sets} FROM ({derived.figures_sql(TX, unsettled, percent='%%')}) AS a "
                       f"WHERE {AWARD}.award_key = a.award_key AND ({changed})")
            db.execute(f"DELETE FROM {AWARD} WHERE award_key IN {unsettled} "
                       "AND transaction_count = 0 AND summary_obligated IS NULL")
    linked = attribution.link_recipients(recipient_keys or set())
    attribution.apply_links(award_keys=award_keys, recipient_keys=(recipient_keys or set()) | linked)
    categories.assign(award_keys)
    attribution.find_mentions(award_keys)
    if connection.vendor == "postgresql" and award_keys:
        db.execute("DROP TABLE IF EXISTS touched_award")
