"""Pull contract transactions from the USAspending API, politely and resumably.

``POST /api/v2/search/spending_by_transaction/`` pages through transactions sorted by action date. The
API serves at most 50,000 results to page numbers; past that, it continues from the
``last_record_unique_id`` / ``last_record_sort_value`` cursor it returns in ``page_metadata``. A server
that gives no cursor is followed by moving the window's start to the last action date seen (records
of that day come twice and are stored once). ``GET /api/v2/awards/{id}/`` supplies what a transaction
lacks (parent UEI, description, end date) for awards not seen before.

Each page is stored in one database transaction together with the cursor, so an interrupted fetch
resumes where it stopped. Errors 429 and 5xx, and network failures, are retried with exponential
backoff (honouring Retry-After).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import date

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
RESULT_WINDOW = 50_000
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
    pass


class Client:
    def __init__(self, base_url: str, *, attempts: int = 6, backoff: float = 1.0, timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, echo: Callable[[str], None] | None = None) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
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
                    raise FetchError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
                reason = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = min(float(retry_after), 300.0)
                    self._wait(delay, reason, attempt)
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
        key = row.get("generated_internal_id") or ""
        if not key.startswith(("CONT_AWD_", "CONT_IDV_")):
            continue
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
    """For awards not seen before: parent UEI and name, description, end date, PSC and NAICS."""
    recipients, updates = [], {}
    for key in keys:
        data = client.request("GET", AWARD.format(key))
        person = data.get("recipient") or {}
        uei = (person.get("recipient_uei") or "").upper()
        if uei:
            recipients.append((uei, uei, str(person.get("recipient_unique_id") or ""), person.get("recipient_name") or "",
                               (person.get("parent_uei") or person.get("parent_recipient_uei") or "").upper(),
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
    until = until or date.today().isoformat()
    query = _query(agencies, since, until, page_size)
    digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()
    cursor, created = FetchCursor.objects.get_or_create(query_digest=digest, defaults={"query": query})
    if restart or cursor.done:
        cursor.page, cursor.last_record_unique_id, cursor.last_record_sort_value = 1, "", ""
        cursor.rows, cursor.done, cursor.query = 0, False, query
        cursor.save()
    elif not created and echo:
        echo(f"resuming at page {cursor.page} ({cursor.rows:,} transactions already stored)")
    client = client or Client(base_url, echo=echo)
    pages = rows = 0
    touched_total: set[str] = set()
    try:
        while not cursor.done and (max_pages is None or pages < max_pages):
            body = dict(cursor.query, page=cursor.page)
            if cursor.last_record_unique_id:
                body["last_record_unique_id"] = _number(cursor.last_record_unique_id)
                body["last_record_sort_value"] = cursor.last_record_sort_value
            data = client.request("POST", SEARCH, body)
            results = data.get("results")
            metadata = data.get("page_metadata") or {}
            if not isinstance(results, list):
                raise FetchError(f"POST {SEARCH}: the answer has no results list")
            try:
                recipients, awards, transactions = normalise(results)
            except ParseError as error:
                raise FetchError(f"POST {SEARCH} page {cursor.page}: {error}") from None
            with transaction.atomic():
                new_keys = [key for key, *_ in awards if not Award.objects.filter(award_key=key).exists()]
                detail_recipients, updates = award_details(client, new_keys) if details and new_keys else ([], {})
                keys = upsert_recipients(recipients) | upsert_recipients(detail_recipients)
                awards = [_with_details(award, updates.get(award[0]), detail_recipients) for award in awards]
                touched = upsert_awards_from_transactions(awards)
                upsert_transactions(transactions)
                refresh_awards(touched, keys)
                touched_total |= touched
                _advance(cursor, data, metadata, results, page_size)
                cursor.rows += len(transactions)
                cursor.save()
            pages += 1
            rows += len(transactions)
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


def _number(value: str):
    try:
        return int(value)
    except ValueError:
        return value


def _advance(cursor: FetchCursor, data: dict, metadata: dict, results: list, page_size: int) -> None:
    if not metadata.get("hasNext") or not results:
        cursor.done = True
        return
    unique_id, sort_value = metadata.get("last_record_unique_id"), metadata.get("last_record_sort_value")
    if unique_id is not None and sort_value is not None:
        cursor.last_record_unique_id, cursor.last_record_sort_value = str(unique_id), str(sort_value)
        cursor.page += 1
        return
    if (cursor.page + 1) * page_size <= RESULT_WINDOW:
        cursor.page += 1
        return
    # No cursor from the server and the page window is used up: restart the window at the last day seen.
    last_day = max((row.get("Action Date") or "") for row in results)
    window = cursor.query["filters"]["time_period"][0]
    if not last_day or last_day <= window["start_date"]:
        raise FetchError(f"more than {RESULT_WINDOW:,} transactions on {last_day or 'one day'}: cannot page further")
    query = json.loads(json.dumps(cursor.query))
    query["filters"]["time_period"][0]["start_date"] = last_day[:10]
    cursor.query, cursor.page = query, 1
