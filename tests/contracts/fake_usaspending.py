"""A local HTTP server that answers as the USAspending API contracts describe, for the `contracts fetch` tests.

Sources (fedspendingtransparency/usaspending-api, read at commit 13a1ee0f, May 2026):

- ``usaspending_api/api_contracts/contracts/v2/search/spending_by_transaction.md`` ("the transaction
  contract"): the request attributes (filters, fields, limit, page, sort, order), the AdvancedFilterObject,
  AgencyObject, TimePeriodObject, FieldNameObject and FilterObjectAwardTypes, the response (results,
  page_metadata, limit) and PageMetaDataObject (page, hasNext, hasPrevious, next, previous — **no**
  ``last_record_unique_id`` / ``last_record_sort_value``: those are in spending_by_award.md only, in its
  request attributes and its PageMetadataObject), and the sample's ``internal_id`` — the *award's* id,
  the same for every modification of an award ("24261000" for all four HSSCCG10J00265 rows).
- ``usaspending_api/api_contracts/contracts/v2/awards/award_id.md``: GET /api/v2/awards/{award_id}/ and its
  ContractResponse (Recipient with ``parent_recipient_uei``, PeriodOfPerformance, ContractDetails, …).
- What the contracts leave out, from the code that serves them: the status codes and messages of
  ``common/validator/tinyshield.py`` and ``helpers.py`` (a missing required value → 422 "Missing value";
  a value of the wrong type or outside an enum → 400; below min / above max → 422), ``common/validator/
  pagination.py`` (page ≥ 1; 1 ≤ limit ≤ 100), ``common/validator/award_filter.py`` + ``settings.py``
  (time_period dates between API_SEARCH_MIN_DATE 2007-10-01 and API_MAX_DATE 2027-09-30), and
  ``search/v2/views/spending_by_transaction.py``: sort must be one of the requested fields (400), the
  result window — ``(page - 1) * limit >= ES_TRANSACTIONS_MAX_RESULT_WINDOW`` (50,000, settings.py) → 422
  "Page #… of size … is over the maximum result limit (50000). …" — and the query it then sends to
  Elasticsearch, ``[(page - 1) * limit : page * limit + 1]`` (one extra row to learn hasNext), which the
  index refuses when from + size > index.max_result_window (also 50,000: etl/management/commands/
  es_configure.py); the view does not catch that error, so the API answers 500.

One deliberate difference: the real API (TinyShield) silently ignores request keys it has no rule for. This
fake rejects them with 400 (the status of InvalidParameterException), so that a client relying on a field
the contract does not define — ``last_record_unique_id`` sent to spending_by_transaction, say, which the
real API would ignore and answer with the same page again — fails its tests instead of looping.

Rows are made on demand from their position, so the fake can hold more than 50,000 of them cheaply.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESULT_WINDOW = 50_000  # settings.ES_TRANSACTIONS_MAX_RESULT_WINDOW
SEARCH_MIN_DATE, SEARCH_MAX_DATE = "2007-10-01", "2027-09-30"  # settings.API_SEARCH_MIN_DATE, API_MAX_DATE

# spending_by_transaction.md, "Request": the attributes of the body.
REQUEST_KEYS = {"filters", "fields", "limit", "page", "sort", "order"}
# spending_by_transaction.md, "AdvancedFilterObject". The fake filters by the first three; the others are
# accepted by the contract but not implemented here (501, so that a test that needs one says so).
IMPLEMENTED_FILTERS = {"award_type_codes", "agencies", "time_period"}
CONTRACT_FILTERS = IMPLEMENTED_FILTERS | {
    "keywords", "description", "place_of_performance_scope", "place_of_performance_locations",
    "recipient_search_text", "recipient_scope", "recipient_locations", "recipient_type_names", "award_ids",
    "award_amounts", "program_numbers", "naics_codes", "tas_codes", "psc_codes", "contract_pricing_type_codes",
    "set_aside_type_codes", "extent_competed_type_codes", "treasury_account_components", "program_activity",
    "program_activities", "def_codes", "award_unique_id"}
# spending_by_transaction.md, "FieldNameObject" (also the values `sort` may take).
FIELD_NAMES = [
    "Action Date", "Action Type", "Assistance Listing", "Award ID", "Award Type", "Awarding Agency",
    "Awarding Sub Agency", "awarding_agency_id", "Funding Agency", "Funding Sub Agency", "internal_id",
    "generated_internal_id", "Issued Date", "Last Date to Order", "Loan Value", "Mod", "NAICS", "PSC",
    "Primary Place of Performance", "recipient_id", "Recipient Location", "Recipient Name", "Recipient UEI",
    "Subsidy Cost", "Transaction Amount", "Transaction Description", "def_codes"]
# spending_by_transaction.md, "FilterObjectAwardTypes", "Default".
AWARD_TYPES = ["02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "A", "B", "C", "D", "IDV_A", "IDV_B",
               "IDV_B_A", "IDV_B_B", "IDV_B_C", "IDV_C", "IDV_D", "IDV_E"]
# spending_by_transaction.md, "AgencyObject"; "TimePeriodObject".
AGENCY_KEYS, AGENCY_REQUIRED = {"type", "tier", "name", "toptier_name"}, ("type", "tier", "name")
TIME_PERIOD_KEYS = ("start_date", "end_date")
AWARD_PATH = re.compile(r"^/api/v2/awards/([^/]+)/$")  # award_id.md: /api/v2/awards/{award_id}/
SEARCH_PATH = "/api/v2/search/spending_by_transaction/"

TOPTIER, SUBTIER, SUBTIER_CODE = "Department of Homeland Security", "U.S. Immigration and Customs Enforcement", "7012"


class Invalid(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class FakeUsaspending:
    """`total` ICE delivery-order transactions, `per_day` a day from `first_day` on, `mods` per award.

    `window` is the result window (the real API's 50,000 unless a test asks for less to stay quick).
    `failures` are answered, one per request, before the real answers: a status, or (status, Retry-After).
    """

    def __init__(self, total: int = 250, *, per_day: int = 7, mods: int = 3, window: int = RESULT_WINDOW,
                 first_day: date = date(2021, 1, 1), failures=()) -> None:
        self.total, self.per_day, self.mods, self.window, self.first_day = total, per_day, mods, window, first_day
        self.failures = list(failures)
        self.unknown_awards: set[int] = set()  # awards whose GET answers 404 (missing from the API's award table)
        self.requests: list[dict] = []  # the bodies of the searches
        self.award_requests: list[str] = []  # the award ids asked for
        self.answers: list[int] = []  # the status of every answer, in order
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # The data -------------------------------------------------------------------------------------------

    def award_number(self, n: int) -> int:
        return n // self.mods

    def piid(self, award: int) -> str:
        return f"70CMSD{award:05d}"

    def award_key(self, award: int) -> str:
        return f"CONT_AWD_{self.piid(award)}_{SUBTIER_CODE}_-NONE-_-NONE-"

    def internal_id(self, award: int) -> str:
        return str(24_000_000 + award)  # one per award, like the sample's "24261000"

    def action_date(self, n: int) -> date:
        return self.first_day + timedelta(days=n // self.per_day)

    def row(self, n: int) -> dict:
        """Transaction n, with every field of FieldNameObject the fake knows (the rest are null)."""
        award = self.award_number(n)
        row = dict.fromkeys(FIELD_NAMES)
        row.update({
            "Action Date": self.action_date(n).isoformat(), "Action Type": None, "Award ID": self.piid(award),
            "Award Type": "DELIVERY ORDER", "Awarding Agency": TOPTIER, "Awarding Sub Agency": SUBTIER,
            "Funding Agency": TOPTIER, "Funding Sub Agency": SUBTIER, "internal_id": self.internal_id(award),
            "generated_internal_id": self.award_key(award), "Mod": f"P{n % self.mods:05d}",
            # PSC and NAICS come as {code, description} (DerivedField in the view).
            "NAICS": {"code": "511210", "description": "SOFTWARE PUBLISHERS"},
            "PSC": {"code": "DA01", "description": "IT AND TELECOM - BUSINESS APPLICATION/APPLICATION DEVELOPMENT"},
            "Recipient Name": "PALANTIR TECHNOLOGIES INC.", "Recipient UEI": "PALANTIRUEI1",
            "Transaction Amount": "100.00", "Transaction Description": "CASE MANAGEMENT SOFTWARE",
        })
        return row

    def _matching(self, filters: dict) -> list[range]:
        """The positions of the transactions the filters select, as ranges in Action Date order."""
        everything = [range(0, self.total)]
        if "C" not in filters["award_type_codes"]:  # every transaction here is a delivery order (type C)
            return []
        agencies = filters.get("agencies")
        if agencies and not any(self._is_ice(agency) for agency in agencies):
            return []
        periods = filters.get("time_period")
        if not periods:
            return everything
        ranges = []
        for period in sorted(periods, key=lambda p: p["start_date"]):
            start = (date.fromisoformat(period["start_date"]) - self.first_day).days
            end = (date.fromisoformat(period["end_date"]) - self.first_day).days
            low, high = max(0, start * self.per_day), min(self.total, (end + 1) * self.per_day)
            if high <= low:
                continue
            if ranges and low <= ranges[-1].stop:
                ranges[-1] = range(ranges[-1].start, max(high, ranges[-1].stop))
            else:
                ranges.append(range(low, high))
        return ranges

    @staticmethod
    def _is_ice(agency: dict) -> bool:
        if agency["tier"] == "toptier":
            return agency["name"] == TOPTIER
        return agency["name"] == SUBTIER and agency.get("toptier_name", TOPTIER) == TOPTIER

    # spending_by_transaction ----------------------------------------------------------------------------

    def search(self, body) -> dict:
        if not isinstance(body, dict):
            raise Invalid(400, "Invalid request: the body is not a JSON object")
        unknown = sorted(set(body) - REQUEST_KEYS)
        if unknown:  # stricter than the real API, which ignores them (see the module's docstring)
            raise Invalid(400, f"Unknown request field(s) {unknown}: spending_by_transaction.md defines "
                               f"{sorted(REQUEST_KEYS)}")
        # TinyShield checks the rules in the view's order: fields, the filters, then page, limit, sort, order.
        fields = _required(body, "fields")
        _array(fields, "fields")
        for field in fields:
            _enum(field, FIELD_NAMES, "fields")
        filters = body.get("filters")
        if not isinstance(filters, dict) or "award_type_codes" not in filters:
            raise Invalid(422, "Missing value: 'filters|award_type_codes' is a required field")
        self._check_filters(filters)
        page = _integer(body.get("page", 1), "page", low=1)
        limit = _integer(body.get("limit", 10), "limit", low=1, high=100)
        sort = _required(body, "sort")
        _enum(sort, FIELD_NAMES, "sort")
        order = body.get("order", "desc")
        _enum(order, ["asc", "desc"], "order")
        if (page - 1) * limit >= self.window:
            raise Invalid(422, f"Page #{page} of size {limit} is over the maximum result limit ({self.window}). "
                               "Consider using custom data downloads to obtain large data sets.")
        if sort not in fields:
            raise Invalid(400, f"Sort value not found in fields: {sort}")
        if page * limit + 1 > self.window:  # Elasticsearch: from + size > index.max_result_window
            raise Invalid(500, "Server Error (500)")
        if (sort, order) != ("Action Date", "asc"):  # positions are in Action Date order; ties keep it
            raise Invalid(501, "the fake sorts by Action Date, ascending, only")
        positions = _Concatenation(self._matching(filters))
        start = (page - 1) * limit
        chosen = positions[start:start + limit + 1]
        has_next = len(chosen) > limit
        results = []
        for n in chosen[:limit]:
            row = self.row(n)
            result = {field: row[field] for field in fields}
            # The view adds both ids to every result, asked for or not.
            result["generated_internal_id"], result["internal_id"] = row["generated_internal_id"], row["internal_id"]
            results.append(result)
        # Response 200 and PageMetaDataObject: exactly these keys.
        return {"limit": limit, "results": results,
                "page_metadata": {"page": page, "hasNext": has_next, "hasPrevious": page > 1,
                                  "next": page + 1 if has_next else None, "previous": page - 1 if page > 1 else None}}

    def _check_filters(self, filters: dict) -> None:
        unknown = sorted(set(filters) - CONTRACT_FILTERS)
        if unknown:
            raise Invalid(400, f"Unknown filter(s) {unknown}: not in spending_by_transaction.md's AdvancedFilterObject")
        codes = filters["award_type_codes"]
        _array(codes, "filters|award_type_codes")
        for code in codes:
            _enum(code, AWARD_TYPES, "filters|award_type_codes")
        unimplemented = sorted(set(filters) - IMPLEMENTED_FILTERS)
        if unimplemented:
            raise Invalid(501, f"the fake does not implement the filter(s) {unimplemented}")
        if "agencies" in filters:
            _array(filters["agencies"], "filters|agencies")
            for agency in filters["agencies"]:
                _object(agency, "filters|agencies", AGENCY_KEYS, AGENCY_REQUIRED)
                _enum(agency["type"], ["awarding", "funding"], "filters|agencies")
                _enum(agency["tier"], ["toptier", "subtier"], "filters|agencies")
                for key in ("name", "toptier_name"):
                    if key in agency and not isinstance(agency[key], str):
                        raise Invalid(400, f"Invalid value in 'filters|agencies'. '{agency[key]}' is not a valid type (text)")
        if "time_period" in filters:
            _array(filters["time_period"], "filters|time_period")
            for period in filters["time_period"]:
                _object(period, "filters|time_period", set(TIME_PERIOD_KEYS), TIME_PERIOD_KEYS)
                for key in TIME_PERIOD_KEYS:
                    value = period[key]
                    try:
                        date.fromisoformat(value)
                        assert len(value) == 10
                    except (TypeError, ValueError, AssertionError):
                        raise Invalid(400, f"Invalid value in 'filters|time_period'. '{value}' is not a valid type (date)") from None
                    if value < SEARCH_MIN_DATE:
                        raise Invalid(422, f"{key} falls before the earliest available search date of {SEARCH_MIN_DATE}.")
                    if value > SEARCH_MAX_DATE:
                        raise Invalid(422, f"Field 'filters|time_period' value '{value}' is above max '{SEARCH_MAX_DATE}'")

    # awards/{award_id} ----------------------------------------------------------------------------------

    def award(self, award_id: str) -> dict:
        award = None
        if award_id.isdigit():  # "accepts the v2 generated award hash or internal database id"
            number = int(award_id) - 24_000_000
            award = number if 0 <= number and number * self.mods < self.total else None
            lookup = {"award_id": int(award_id)}
        else:
            match = re.fullmatch(rf"CONT_AWD_70CMSD(\d{{5}})_{SUBTIER_CODE}_-NONE-_-NONE-", award_id)
            if match and int(match[1]) * self.mods < self.total:
                award = int(match[1])
            lookup = {"generated_unique_award_id": award_id}
        if award is None or award in self.unknown_awards:
            raise Invalid(404, f"No Award found with: {lookup}")
        return contract_response(self, award)

    # HTTP -----------------------------------------------------------------------------------------------

    def _next_failure(self):
        with self.lock:
            return self.failures.pop(0) if self.failures else None

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API
            wbufsize = -1  # headers and body in one write (flushed after each request) ...
            disable_nagle_algorithm = True  # ... and sent at once: no delayed-ACK stall on each answer

            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=()):
                data = json.dumps(body).encode()
                api.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def fail(self) -> bool:
                failure = api._next_failure()
                if failure is None:
                    return False
                status, retry_after = failure if isinstance(failure, tuple) else (failure, None)
                headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
                self.reply(status, {"detail": "try again later"}, headers)
                return True

            def do_GET(self):
                match = AWARD_PATH.match(self.path)
                if not match:
                    return self.reply(404, {"detail": "Not found."})
                api.award_requests.append(match[1])
                if self.fail():
                    return
                try:
                    self.reply(200, api.award(match[1]))
                except Invalid as error:
                    self.reply(error.status, {"detail": error.detail})

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != SEARCH_PATH:
                    return self.reply(404, {"detail": "Not found."})
                try:
                    body = json.loads(data)
                except ValueError:
                    return self.reply(400, {"detail": "JSON parse error"})
                api.requests.append(body)
                if self.fail():
                    return
                try:
                    self.reply(200, api.search(body))
                except Invalid as error:
                    self.reply(error.status, {"detail": error.detail})

        return Handler


class _Concatenation:
    """Ranges read as one sequence, sliced without building it."""

    def __init__(self, ranges: list[range]) -> None:
        self.ranges = ranges

    def __getitem__(self, part: slice) -> list[int]:
        start, stop = part.start or 0, part.stop
        out = []
        for r in self.ranges:
            if stop <= 0:
                break
            out.extend(r[max(start, 0):stop])
            start, stop = start - len(r), stop - len(r)
        return out


def _required(body: dict, key: str):
    if key not in body:
        raise Invalid(422, f"Missing value: '{key}' is a required field")
    return body[key]


def _array(value, key: str) -> None:
    if not isinstance(value, list):
        raise Invalid(400, f"Invalid value in '{key}'. '{value}' is not a valid type (array)")
    if not value:
        raise Invalid(422, f"Field '{key}' value '{value}' is below min '1' items")


def _enum(value, members, key: str) -> None:
    if not isinstance(value, str) or value not in members:
        raise Invalid(400, f"Field '{key}' is outside valid values {list(members)}")


def _integer(value, key: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(400, f"Invalid value in '{key}'. '{value}' is not a valid type (integer)")
    if value < low:
        raise Invalid(422, f"Field '{key}' value '{value}' is below min '{low}'")
    if high is not None and value > high:
        raise Invalid(422, f"Field '{key}' value '{value}' is above max '{high}'")
    return value


def _object(value, key: str, allowed: set, required) -> None:
    if not isinstance(value, dict):
        raise Invalid(400, f"Invalid value in '{key}'. '{value}' is not a valid type (object)")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise Invalid(400, f"Unknown field(s) {unknown} in '{key}'")
    for name in required:
        if name not in value:
            raise Invalid(422, f"Required object fields: {name}")


def contract_response(api: FakeUsaspending, award: int) -> dict:
    """award_id.md, "ContractResponse": every required attribute, in the shapes of the sample body."""
    first = award * api.mods
    last = min(first + api.mods, api.total) - 1
    agency = {"id": 1068, "has_agency_page": True,
              "toptier_agency": {"name": TOPTIER, "code": "070", "abbreviation": "DHS",
                                 "slug": "department-of-homeland-security"},
              "subtier_agency": {"name": SUBTIER, "code": SUBTIER_CODE, "abbreviation": "ICE"},
              "office_agency_name": "ICE OFFICE OF ACQUISITION MANAGEMENT"}
    location = {"location_country_code": "USA", "country_name": "UNITED STATES", "state_code": "CO",
                "state_name": "COLORADO", "city_name": "DENVER", "county_code": "031", "county_name": "DENVER",
                "address_line1": "1200 17TH STREET", "address_line2": None, "address_line3": None,
                "congressional_code": "01", "zip4": "0000", "zip5": "80202", "foreign_postal_code": None,
                "foreign_province": None}
    contract_data = dict.fromkeys([
        "clinger_cohen_act_planning", "commercial_item_acquisition", "commercial_item_test_program",
        "consolidated_contract", "construction_wage_rate", "cost_or_pricing_data", "dod_acquisition_program",
        "dod_claimant_program", "domestic_or_foreign_entity", "evaluated_preference", "extent_competed",
        "fair_opportunity_limited", "fed_biz_opps", "foreign_funding", "information_technology_commercial_item_category",
        "interagency_contracting_authority", "labor_standards", "major_program", "materials_supplies",
        "multi_year_contract", "national_interest_action", "number_of_offers_received", "other_than_full_and_open",
        "price_evaluation_adjustment", "program_acronym", "purchase_card_as_payment_method",
        "referenced_idv_agency_iden", "sea_transportation", "small_business_competitive", "solicitation_identifier",
        "solicitation_procedures", "subcontracting_plan", "type_of_contract_pricing", "type_set_aside"])
    contract_data.update({"product_or_service_code": "DA01", "naics": "511210",
                          "naics_description": "SOFTWARE PUBLISHERS",
                          "product_or_service_description": "IT AND TELECOM - BUSINESS APPLICATION/APPLICATION DEVELOPMENT"})
    return {
        "id": int(api.internal_id(award)), "category": "contract", "type": "C", "type_description": "DELIVERY ORDER",
        "generated_unique_award_id": api.award_key(award), "piid": api.piid(award),
        "description": "FALCON CASE MANAGEMENT SUPPORT", "total_obligation": 100.0 * (last - first + 1),
        "base_exercised_options": 100.0 * (last - first + 1), "base_and_all_options": 1000.0 * api.mods,
        "date_signed": api.action_date(first).isoformat(), "subaward_count": 0, "total_subaward_amount": None,
        "awarding_agency": agency, "funding_agency": agency,
        "recipient": {"recipient_name": "PALANTIR TECHNOLOGIES INC.", "recipient_hash": "b1e4a3e2-0000-0000-0000-000000000000-C",
                      "recipient_uei": "PALANTIRUEI1", "recipient_unique_id": None,
                      "parent_recipient_name": "PALANTIR TECHNOLOGIES INC.",
                      "parent_recipient_hash": "b1e4a3e2-0000-0000-0000-000000000000-P",
                      "parent_recipient_uei": "PALANTIRUEI1", "parent_recipient_unique_id": None,
                      "location": location, "business_categories": ["Category Business", "Corporate Entity Not Tax Exempt"]},
        "period_of_performance": {"start_date": api.action_date(first).isoformat(), "end_date": "2031-01-01",
                                  "last_modified_date": "2024-10-01 12:00:00", "potential_end_date": "2031-01-01 00:00:00"},
        "place_of_performance": location, "latest_transaction_contract_data": contract_data,
        "executive_details": {"officers": [{"name": None, "amount": None} for _ in range(5)]},
        "parent_award": None,
        "naics_hierarchy": {"toptier_code": {"code": "51", "description": "Information"},
                            "midtier_code": {"code": "5112", "description": "Software Publishers"},
                            "base_code": {"code": "511210", "description": "Software Publishers"}},
        "psc_hierarchy": {"toptier_code": {"code": "D", "description": "IT AND TELECOM"}, "midtier_code": {},
                          "subtier_code": {"code": "DA", "description": "IT AND TELECOM - BUSINESS APPLICATION"},
                          "base_code": {"code": "DA01", "description": "IT AND TELECOM - BUSINESS APPLICATION/APPLICATION DEVELOPMENT"}},
        "total_account_outlay": 0.0, "total_account_obligation": 0.0,
        "account_obligations_by_defc": [], "account_outlays_by_defc": [],
    }
