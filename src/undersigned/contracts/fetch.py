"""Pull contract transactions from the USAspending API, politely and resumably.

``POST /api/v2/search/spending_by_transaction/`` pages through transactions sorted by action date. Its
contract (usaspending-api: api_contracts/contracts/v2/search/spending_by_transaction.md) has page numbers
only: no ``last_record_unique_id`` / ``last_record_sort_value`` cursor — that is spending_by_award's, which
returns awards, not transactions. The API serves page numbers within a window of 50,000 results
(settings.ES_TRANSACTIONS_MAX_RESULT_WINDOW; it asks Elasticsearch for ``page × limit + 1`` rows, so the
last page it can serve ends one row short of the window). When the window is used up, the fetch narrows
its query: the time period then starts on the action date of the last transaction received, and paging
starts again at 1. The transactions of that day come twice; they are stored once, and counted once
(see ``_tally``). More than a window's worth of transactions on one day cannot be paged past.
``GET /api/v2/awards/{id}/`` supplies what a transaction lacks (parent UEI, description, end date) for
awards not seen before.

Each page is stored in one database transaction together with the position (page, query, tally), so an
interrupted fetch resumes where it stopped. Errors 429 and 5xx, and network failures, are retried with
exponential backoff, or after the delay a Retry-After header asks for.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import ssl
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
from django.db import transaction

from undersigned.contracts.actions import (
    refresh_awards,
    upsert_awards_from_transactions,
    upsert_recipients,
    upsert_transactions,
)
from undersigned.contracts.agencies import SUBTIERS, api_agency_filter
from undersigned.contracts.models import Award, FetchCursor
from undersigned.contracts.parsing import ParseError, fiscal_year, parse_amount, parse_date, transaction_key

SEARCH = "/api/v2/search/spending_by_transaction/"
AWARD = "/api/v2/awards/{}/"
RESULT_WINDOW = 50_000  # usaspending-api settings.ES_TRANSACTIONS_MAX_RESULT_WINDOW
MAX_LIMIT = 100  # usaspending-api common/validator/pagination.py: 1 <= limit <= 100
FIELDS = ["Award ID", "Mod", "Recipient Name", "Recipient UEI", "Action Date", "Transaction Amount", "Awarding Agency",
          "Awarding Sub Agency", "Award Type", "Transaction Description", "Action Type", "PSC", "NAICS", "internal_id",
          "generated_internal_id"]
CONTRACT_TYPES = ["A", "B", "C", "D"]
RETRY_STATUSES = {429, 500, 502, 503, 504}
ACTION_TYPES = {"TERMINATE FOR DEFAULT": "E", "TERMINATE FOR CONVENIENCE": "F", "CLOSE OUT": "K",
                "LEGAL CONTRACT CANCELLATION": "N", "FUNDING ONLY ACTION": "C", "EXERCISE AN OPTION": "G"}
SUBTIER_BY_NAME = {name.upper(): code for code, (_short, name) in SUBTIERS.items()}
TOPTIER_BY_NAME = {"DEPARTMENT OF HOMELAND SECURITY": "070"}


class FetchError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Client:
    def __init__(self, base_url: str, *, attempts: int = 6, backoff: float = 1.0, timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, echo: Callable[[str], None] | None = None) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, verify=_tls(),
                                 headers={"User-Agent": "undersigned-contract-record (+https://github.com/)"})
        self.attempts, self.backoff, self.sleep, self.echo = attempts, backoff, sleep, echo

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        for attempt in range(self.attempts):
            try:
                response = self.http.request(method, path, json=body)
            except httpx.TransportError as error:
                reason = f"network error: {error}"
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise FetchError(f"{method} {path}: the answer is not JSON") from None
                if response.status_code not in RETRY_STATUSES:
                    raise FetchError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}",
                                     response.status_code)
                reason = f"HTTP {response.status_code}"
                delay = retry_after(response.headers.get("Retry-After"))
                if delay is not None:
                    self._wait(min(delay, 300.0), reason, attempt)
                    continue
            self._wait(min(self.backoff * 2 ** attempt, 120.0) * (1 + random.random() / 4), reason, attempt)
        raise FetchError(f"{method} {path}: gave up after {self.attempts} attempts ({reason})")

    def _wait(self, delay: float, reason: str, attempt: int) -> None:
        if attempt + 1 >= self.attempts:
            return
        if self.echo:
            self.echo(f"{reason}; retrying in {delay:.1f} s")
        self.sleep(delay)

    def close(self) -> None:
        self.http.close()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for all clients: building one (loading the CA bundle) takes a tenth of a second."""
    return httpx.create_ssl_context()


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110, 10.2.3)."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _query(agencies: list[str], since: str, until: str, page_size: int) -> dict:
    try:
        filters = [api_agency_filter(agency) for agency in agencies]
    except ValueError as error:
        raise FetchError(str(error)) from None
    for name, value in (("--since", since), ("--until", until)):
        try:
            parse_date(value)
        except ParseError:
            raise FetchError(f"{name} {value!r}: use YYYY-MM-DD") from None
    return {
        "filters": {"award_type_codes": CONTRACT_TYPES, "agencies": filters,
                    "time_period": [{"start_date": since, "end_date": until}]},
        "fields": FIELDS, "sort": "Action Date", "order": "asc", "limit": page_size,
    }


def _code(value) -> str:
    if isinstance(value, dict):
        return str(value.get("code") or "")
    return str(value or "")


def _action_type(value) -> str:
    text = str(value or "").strip().upper()
    if ":" in text:
        text = text.split(":", 1)[0].strip()
    if len(text) <= 4:
        return text
    return next((code for words, code in ACTION_TYPES.items() if words in text), "")


def split_award_key(key: str) -> tuple[str, str, str, str]:
    """(PIID, sub-tier, parent PIID, parent agency) from a generated award key."""
    if key.startswith("CONT_IDV_"):
        piid, _, subtier = key[len("CONT_IDV_"):].rpartition("_")
        return piid, subtier, "", ""
    rest = key[len("CONT_AWD_"):] if key.startswith("CONT_AWD_") else key
    parts = rest.rsplit("_", 3)
    if len(parts) != 4:
        return rest, "", "", ""
    piid, subtier, parent_piid, parent_agency = (part if part != "-NONE-" else "" for part in parts)
    return piid, subtier, parent_piid, parent_agency


def normalise(results: list[dict]) -> tuple[list, list, list]:
    """API results → (recipients, awards, transactions) rows for the loaders."""
    recipients, awards, transactions = {}, {}, []
    for row in results:
        if not _is_contract(row):
            continue
        key = row["generated_internal_id"]
        piid, subtier, parent_piid, parent_agency = split_award_key(key)
        piid = row.get("Award ID") or piid
        day = parse_date(row.get("Action Date"))
        amount = parse_amount(str(row.get("Transaction Amount") or "0"))
        uei = (row.get("Recipient UEI") or "").strip().upper()
        name = (row.get("Recipient Name") or "").strip()
        recipient = uei or (f"NAME:{name.upper()}" if name else "UNKNOWN")
        recipients[recipient] = (recipient, uei, "", name, "", "", "")
        sub_name = (row.get("Awarding Sub Agency") or "").strip()
        subtier = subtier or SUBTIER_BY_NAME.get(sub_name.upper(), "")
        agency = TOPTIER_BY_NAME.get((row.get("Awarding Agency") or "").strip().upper(), "")
        description = (row.get("Transaction Description") or "").strip()
        mod = str(row.get("Mod") or "0")
        previous = awards.get(key)
        earliest = previous is None or (day is not None and (previous[12] is None or day < previous[12]))
        awards[key] = (key, piid, parent_piid, agency, subtier, sub_name, recipient,
                       description if earliest or not previous[7] else previous[7],
                       _code(row.get("PSC")), _code(row.get("NAICS")), str(row.get("Award Type") or ""), None,
                       day if earliest else previous[12])
        transactions.append((transaction_key(piid, subtier, mod, parent_piid, parent_agency), key, mod, _iso(day),
                             fiscal_year(day), str(amount), _action_type(row.get("Action Type")), description))
    awards = [(*award[:11], None, _iso(award[12])) for award in awards.values()]
    return list(recipients.values()), awards, transactions


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def award_details(client: Client, keys: list[str]) -> tuple[list, dict]:
    """For awards not seen before: parent UEI and name, description, end date, PSC and NAICS.

    Fields as in api_contracts/contracts/v2/awards/award_id.md (ContractResponse). An award the API does
    not know (404) keeps what its transactions say."""
    recipients, updates = [], {}
    for key in keys:
        try:
            data = client.request("GET", AWARD.format(key))
        except FetchError as error:
            if error.status == 404:
                continue
            raise
        person = data.get("recipient") or {}
        uei = (person.get("recipient_uei") or "").upper()
        if uei:
            recipients.append((uei, uei, str(person.get("recipient_unique_id") or ""), person.get("recipient_name") or "",
                               (person.get("parent_recipient_uei") or person.get("parent_uei") or "").upper(),
                               str(person.get("parent_recipient_unique_id") or ""), person.get("parent_recipient_name") or ""))
        contract = data.get("latest_transaction_contract_data") or {}
        period = data.get("period_of_performance") or {}
        try:
            end = parse_date((period.get("end_date") or "")[:10])
        except ParseError:
            end = None
        updates[key] = {"description": data.get("description") or "", "end_date": end,
                        "psc": contract.get("product_or_service_code") or "", "naics": contract.get("naics") or ""}
    return recipients, updates


def fetch_transactions(*, agencies: list[str], since: str, until: str | None = None,
                       base_url: str = "https://api.usaspending.gov", page_size: int = 100, restart: bool = False,
                       max_pages: int | None = None, details: bool = True, echo: Callable[[str], None] | None = None,
                       client: Client | None = None) -> dict:
    """Fetch (or resume fetching) the contract transactions of `agencies` from `since` to `until`.

    Without `until`, the fetch runs to today, and an interrupted fetch resumes with the end date it began
    with."""
    if not 1 <= page_size <= MAX_LIMIT:
        raise FetchError(f"--page-size {page_size}: the API takes 1 to {MAX_LIMIT} records a page")
    query = _query(agencies, since, until or date.today().isoformat(), page_size)
    identity = json.loads(json.dumps(query))
    if until is None:  # "until today" is the same fetch tomorrow, so that it can be resumed
        identity["filters"]["time_period"][0]["end_date"] = None
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    cursor, created = FetchCursor.objects.get_or_create(query_digest=digest, defaults={"query": query})
    if restart or cursor.done:
        cursor.page, cursor.last_record_unique_id, cursor.last_record_sort_value = 1, "", ""
        cursor.rows, cursor.done, cursor.query = 0, False, query
        cursor.save()
    elif not created and echo:
        start = cursor.query["filters"]["time_period"][0]["start_date"]
        echo(f"resuming at page {cursor.page} of the transactions from {start} ({cursor.rows:,} already stored)")
    client = client or Client(base_url, echo=echo)
    pages = rows = 0
    touched_total: set[str] = set()
    try:
        while not cursor.done and (max_pages is None or pages < max_pages):
            body = dict(cursor.query, page=cursor.page)
            data = client.request("POST", SEARCH, body)
            results = data.get("results") if isinstance(data, dict) else None
            metadata = data.get("page_metadata") if isinstance(data, dict) else None
            if not isinstance(results, list) or not isinstance(metadata, dict) or "hasNext" not in metadata:
                raise FetchError(f"POST {SEARCH}: the answer lacks a results list or page_metadata.hasNext")
            try:
                recipients, awards, transactions = normalise(results)
            except ParseError as error:
                raise FetchError(f"POST {SEARCH} page {cursor.page}: {error}") from None
            # The new awards' details are asked for before the page's database transaction opens: it is not
            # held open through up to a page's worth of requests (and their retries).
            detail_recipients, updates = [], {}
            if details and awards:
                award_keys = [key for key, *_ in awards]
                known = set(Award.objects.filter(award_key__in=award_keys).values_list("award_key", flat=True))
                new_keys = [key for key in award_keys if key not in known]
                if new_keys:
                    detail_recipients, updates = award_details(client, new_keys)
            with transaction.atomic():
                keys = upsert_recipients(recipients) | upsert_recipients(detail_recipients)
                awards = [_with_details(award, updates.get(award[0]), detail_recipients) for award in awards]
                touched = upsert_awards_from_transactions(awards)
                upsert_transactions(transactions)
                refresh_awards(touched, keys)
                touched_total |= touched
                counted = _tally(cursor, results)
                cursor.rows += counted
                _advance(cursor, metadata, results, echo)
                cursor.save()
            pages += 1
            rows += counted
            if echo:
                echo(f"page {pages}: {len(transactions)} transactions ({cursor.rows:,} in all)")
    finally:
        client.close()
    return {"pages": pages, "rows": rows, "awards": len(touched_total), "done": cursor.done}


def _with_details(award: tuple, fields: dict | None, detail_recipients: list) -> tuple:
    if not fields:
        return award
    award = list(award)
    if fields["description"]:
        award[7] = fields["description"]
    award[8] = fields["psc"] or award[8]
    award[9] = fields["naics"] or award[9]
    award[11] = _iso(fields["end_date"])
    return tuple(award)


def _is_contract(row: dict) -> bool:
    return (row.get("generated_internal_id") or "").startswith(("CONT_AWD_", "CONT_IDV_"))


def _tally(cursor: FetchCursor, results: list[dict]) -> int:
    """How many of this page's contract transactions are received for the first time in this fetch.

    A narrowed window starts on the day the previous window ended with, so that day's transactions come
    again, first (the sort is by action date). The cursor keeps the action date of the last transaction
    received (in ``last_record_sort_value``) and how many transactions of that date were received (in
    ``last_record_unique_id``): in a window that starts on that date, the transaction at position p
    (from 0) of the window was received before if p is below that number. Positions, not identities, so
    that the order in which the API returns transactions of one day may differ from one request to the next.
    """
    date_seen, count = cursor.last_record_sort_value, cursor.last_record_unique_id
    count = int(count) if count.isdigit() else 0
    window_start = cursor.query["filters"]["time_period"][0]["start_date"]
    first = (cursor.page - 1) * cursor.query["limit"]
    counted = 0
    for offset, row in enumerate(results):
        day = str(row.get("Action Date") or "")[:10]
        if day == date_seen and day == window_start:
            if first + offset < count:
                continue
            count = first + offset + 1
        elif day == date_seen:
            count += 1
        else:
            date_seen, count = day, 1
        counted += _is_contract(row)
    cursor.last_record_sort_value, cursor.last_record_unique_id = date_seen, str(count)
    return counted


def _advance(cursor: FetchCursor, metadata: dict, results: list, echo: Callable[[str], None] | None) -> None:
    """The next request: the next page, or page 1 of a narrower time period past the result window."""
    if not metadata.get("hasNext") or not results:
        cursor.done = True
        return
    # The view refuses (page - 1) × limit >= the window (422), and Elasticsearch refuses a page whose
    # page × limit + 1 rows go past it (500): the last page to ask for ends before the window does.
    if (cursor.page + 1) * cursor.query["limit"] < RESULT_WINDOW:
        cursor.page += 1
        return
    window = cursor.query["filters"]["time_period"][0]
    last_day = max(str(row.get("Action Date") or "")[:10] for row in results)
    if not last_day or last_day <= window["start_date"]:
        raise FetchError(f"{window['start_date']} alone has more transactions than the API's {RESULT_WINDOW:,}-result "
                         "window lets a search page through: fetch that day from a bulk download instead")
    query = json.loads(json.dumps(cursor.query))
    query["filters"]["time_period"][0]["start_date"] = last_day
    cursor.query, cursor.page = query, 1
    if echo:
        echo(f"{RESULT_WINDOW:,}-result window used up: continuing with the transactions from {last_day}")
