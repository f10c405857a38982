"""`undersigned contracts fetch` against a local server that answers as the USAspending API contract says
(api_contracts/contracts/v2/search/spending_by_transaction.md and awards/award_id.md)."""

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from undersigned.contracts.fetch import Client, FetchError, fetch_transactions
from undersigned.contracts.models import Award, FetchCursor, Transaction
from tests.contracts.helpers import run, show

pytestmark = pytest.mark.django_db


def record(number: int) -> dict:
    piid = f"70CMSD{number // 3:05d}"
    return {
        "internal_id": str(number), "generated_internal_id": f"CONT_AWD_{piid}_7012_-NONE-_-NONE-",
        "Award ID": piid, "Mod": f"P{number % 3:05d}", "Recipient Name": "PALANTIR TECHNOLOGIES INC.",
        "Recipient UEI": "PALANTIRUEI1", "Action Date": (date(2021, 1, 1) + timedelta(days=number // 7)).isoformat(),
        "Transaction Amount": "100.00", "Awarding Agency": "Department of Homeland Security",
        "Awarding Sub Agency": "U.S. Immigration and Customs Enforcement", "Award Type": "DELIVERY ORDER",
        "Transaction Description": "CASE MANAGEMENT SOFTWARE", "Action Type": None,
        "PSC": {"code": "DA01", "description": "IT"}, "NAICS": {"code": "511210", "description": "SOFTWARE"},
    }


class FakeApi:
    """Pages by number up to a result window (like the API's 50,000), then only by the last_record cursor."""

    def __init__(self, total=250, window=100, failures=()):
        self.records = [record(n) for n in range(total)]
        self.window, self.failures, self.requests = window, list(failures), []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                key = self.path.strip("/").split("/")[-1]
                self.reply(200, {"generated_unique_award_id": key, "description": "FALCON CASE MANAGEMENT SUPPORT",
                                 "period_of_performance": {"start_date": "2021-01-01", "end_date": "2031-01-01"},
                                 "latest_transaction_contract_data": {"product_or_service_code": "DA01", "naics": "511210"},
                                 "recipient": {"recipient_name": "PALANTIR TECHNOLOGIES INC.", "recipient_uei": "PALANTIRUEI1",
                                               "parent_uei": "PALANTIRUEI1", "parent_recipient_name": "PALANTIR TECHNOLOGIES INC."}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append(body)
                if api.failures:
                    status = api.failures.pop(0)
                    return self.reply(status, {"detail": "try later"}, [("Retry-After", "0")] if status == 429 else [])
                if "award_type_codes" not in body.get("filters", {}) or "fields" not in body:
                    return self.reply(422, {"detail": "Missing value: 'filters|award_type_codes' is a required field"})
                limit, page = body.get("limit", 10), body.get("page", 1)
                if "last_record_unique_id" in body:
                    after = int(body["last_record_unique_id"])
                    rows = [r for r in api.records if int(r["internal_id"]) > after][:limit]
                else:
                    if page * limit > api.window:
                        return self.reply(422, {"detail": f"Request exceeds the result window of {api.window}"})
                    rows = api.records[(page - 1) * limit:page * limit]
                last = rows[-1] if rows else None
                has_next = bool(last) and last is not api.records[-1]
                self.reply(200, {"limit": limit, "results": [{k: r[k] for k in body["fields"] if k in r} | {
                    "internal_id": r["internal_id"], "generated_internal_id": r["generated_internal_id"]} for r in rows],
                    "page_metadata": {"page": page, "hasNext": has_next, "hasPrevious": page > 1,
                                      "next": page + 1 if has_next else None, "previous": page - 1 if page > 1 else None,
                                      "last_record_unique_id": int(last["internal_id"]) if last else None,
                                      "last_record_sort_value": last["Action Date"] if last else None}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


def fetch(api, **options):
    client = Client(api.url, backoff=0, sleep=lambda seconds: None)
    return fetch_transactions(agencies=["ICE"], since="2020-10-01", until="2024-09-30", base_url=api.url,
                              page_size=50, client=client, **options)


def test_it_pages_past_the_result_window_with_the_cursor(companies, api):
    result = run("fetch", "--agency", "ICE", "--since", "2020-10-01", "--until", "2024-09-30",
                 "--base-url", api.url, "--page-size", "50", "--quiet")
    assert result.exit_code == 0, result.output
    assert "250 transactions fetched" in result.output
    assert Transaction.objects.count() == 250
    assert any("last_record_unique_id" in body for body in api.requests)
    assert all(body["page"] * body["limit"] <= api.window or "last_record_unique_id" in body for body in api.requests)
    first = api.requests[0]
    assert first["filters"]["agencies"] == [{"type": "awarding", "tier": "subtier", "name": "U.S. Immigration and Customs Enforcement",
                                             "toptier_name": "Department of Homeland Security"}]
    assert first["filters"]["award_type_codes"] == ["A", "B", "C", "D"]
    record = show("palantir")
    assert record["total_obligated"] == 25000.0
    assert record["awards"][0]["link_method"] == "uei"
    assert Award.objects.filter(description="FALCON CASE MANAGEMENT SUPPORT").count() == Award.objects.count()


def test_it_retries_politely_and_resumes_after_an_interruption(companies):
    api = FakeApi(failures=[429, 503])
    try:
        result = fetch(api, max_pages=2)
        assert result["rows"] == 100 and not result["done"]
        api.failures = [500] * 10  # the server goes down: give up, keep what was stored
        with pytest.raises(FetchError, match="gave up after 6 attempts"):
            fetch(api)
        cursor = FetchCursor.objects.get()
        assert cursor.rows == 100 and cursor.page == 3
        api.failures = []
        result = fetch(api)
        assert result["done"] and result["rows"] == 150
        assert Transaction.objects.count() == 250
    finally:
        api.close()


def test_it_reports_bad_answers_and_bad_options(companies, api):
    result = run("fetch", "--agency", "NASA", "--base-url", api.url)
    assert result.exit_code == 1 and "unknown agency 'NASA'" in result.output
    result = run("fetch", "--since", "yesterday", "--base-url", api.url)
    assert result.exit_code == 1 and "--since 'yesterday'" in result.output
    api.failures = [400]
    result = run("fetch", "--base-url", api.url, "--quiet")
    assert result.exit_code == 1 and "HTTP 400" in result.output
