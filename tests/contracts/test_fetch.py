"""`undersigned contracts fetch` against a local server that answers as the USAspending API contracts say
(api_contracts/contracts/v2/search/spending_by_transaction.md and awards/award_id.md; see
tests/contracts/fake_usaspending.py for what follows which file and section)."""

from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

import undersigned.contracts.fetch as fetch_module
from undersigned.contracts.fetch import Client, FetchError, fetch_transactions, retry_after
from undersigned.contracts.models import Award, FetchCursor, Transaction
from tests.contracts.fake_usaspending import RESULT_WINDOW, SEARCH_PATH, FakeUsaspending
from tests.contracts.helpers import run, show

pytestmark = pytest.mark.django_db

CURSOR_FIELDS = {"last_record_unique_id", "last_record_sort_value"}


@pytest.fixture
def api():
    server = FakeUsaspending(window=150, mods=5)
    yield server
    server.close()


def fetch(api, *, page_size=50, since="2020-10-01", **options):
    client = Client(api.url, backoff=0, sleep=lambda seconds: None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fetch_module, "RESULT_WINDOW", api.window)  # the API's is 50,000; this fake's is smaller
        return fetch_transactions(agencies=["ICE"], since=since, until="2024-09-30", base_url=api.url,
                                  page_size=page_size, client=client, **options)


def start_dates(api):
    return [body["filters"]["time_period"][0]["start_date"] for body in api.requests]


def assert_within_the_window(api):
    """Every search asked only what the API serves: no cursor (the transaction contract has none), and
    no page past the window (422 from the view, 500 from Elasticsearch)."""
    assert api.requests
    for body in api.requests:
        assert not CURSOR_FIELDS & set(body)
        assert body["page"] * body["limit"] + 1 <= api.window


def test_the_fake_answers_as_the_contract_says(api):
    """The shape of the answers, and the refusals, that the fetch tests rely on."""
    body = {"filters": {"award_type_codes": ["A", "B", "C", "D"], "time_period": [{"start_date": "2021-01-01",
                                                                                   "end_date": "2021-01-01"}]},
            "fields": ["Award ID", "Mod", "Action Date"], "sort": "Action Date", "order": "asc", "limit": 5}
    http = httpx.Client(base_url=api.url, verify=False)  # plain HTTP: no CA bundle to load
    post = lambda **changes: http.post(SEARCH_PATH, json={**body, **changes})  # noqa: E731
    answer = post().json()
    assert set(answer) == {"limit", "results", "page_metadata"}
    assert answer["page_metadata"] == {"page": 1, "hasNext": True, "hasPrevious": False, "next": 2, "previous": None}
    first, *_ = answer["results"]
    assert set(first) == {"Award ID", "Mod", "Action Date", "internal_id", "generated_internal_id"}
    # One internal_id per award, for each of its modifications (the contract's sample).
    assert [row["internal_id"] for row in answer["results"]] == ["24000000"] * 5
    assert len({row["Mod"] for row in answer["results"]}) == 5
    last = post(page=2).json()
    assert [row["internal_id"] for row in last["results"]] == ["24000001"] * 2
    assert last["page_metadata"] == {"page": 2, "hasNext": False, "hasPrevious": True, "next": None, "previous": 1}
    assert post(last_record_unique_id=24000000, last_record_sort_value="2021-01-01").status_code == 400
    assert post(limit=101).status_code == 422 and post(limit=0).status_code == 422 and post(page=0).status_code == 422
    assert post(sort="Recipient Name").status_code == 400  # not one of the fields asked for
    assert post(order="up").status_code == 400
    assert http.post(SEARCH_PATH, json={"fields": ["Mod"], "sort": "Mod"}).status_code == 422
    assert post(page=29, limit=5).status_code == 200  # records 140-144 (+ 1 to learn hasNext): within 150
    assert post(page=30, limit=5).status_code == 500  # 30 × 5 + 1 > 150: Elasticsearch's from + size
    assert post(page=31, limit=5).status_code == 422  # (31 - 1) × 5 >= 150: the view's check
    award = http.get(f"/api/v2/awards/{first['generated_internal_id']}/").json()
    assert award["recipient"]["parent_recipient_uei"] == "PALANTIRUEI1" and award["category"] == "contract"
    assert http.get(f"/api/v2/awards/{first['internal_id']}/").json() == award
    assert http.get("/api/v2/awards/CONT_AWD_NOPE_7012_-NONE-_-NONE-/").status_code == 404
    http.close()


def test_it_pages_past_the_result_window_by_narrowing_the_time_period(companies, api, monkeypatch):
    monkeypatch.setattr(fetch_module, "RESULT_WINDOW", api.window)  # the CLI uses the API's; this fake's is 150
    result = run("fetch", "--agency", "ICE", "--since", "2020-10-01", "--until", "2024-09-30",
                 "--base-url", api.url, "--page-size", "50", "--quiet")
    assert result.exit_code == 0, result.output
    assert "250 transactions fetched" in result.output  # each once, though boundary days came twice
    assert Transaction.objects.count() == 250
    assert_within_the_window(api)
    assert set(api.answers) == {200}
    starts = start_dates(api)
    assert starts[0] == "2020-10-01" and len(set(starts)) > 2 and starts == sorted(starts)
    first = api.requests[0]
    assert first["filters"]["agencies"] == [{"type": "awarding", "tier": "subtier", "name": "U.S. Immigration and Customs Enforcement",
                                             "toptier_name": "Department of Homeland Security"}]
    assert first["filters"]["award_type_codes"] == ["A", "B", "C", "D"]
    assert first["sort"] == "Action Date" and first["sort"] in first["fields"] and first["order"] == "asc"
    record = show("palantir")
    assert record["total_obligated"] == 25000.0
    assert record["awards"][0]["link_method"] == "uei"
    assert Award.objects.filter(description="FALCON CASE MANAGEMENT SUPPORT").count() == Award.objects.count()
    assert len(api.award_requests) == Award.objects.count() == 50  # details once per award, not per transaction


def test_it_pages_past_the_real_50000_result_window(companies):
    """50,150 transactions, the API's own window: the fetch resumes at page 499 of 100 (as if it had been
    interrupted there), asks no page past it, and continues from the last action date it received."""
    api = FakeUsaspending(total=50_150, per_day=40, mods=50)
    assert api.window == RESULT_WINDOW == fetch_module.RESULT_WINDOW == 50_000
    try:
        client = Client(api.url, backoff=0, sleep=lambda seconds: None)
        options = dict(agencies=["ICE"], since="2020-10-01", until="2024-09-30", base_url=api.url, page_size=100,
                       details=False)
        assert fetch_transactions(**options, max_pages=1, client=client)["rows"] == 100
        FetchCursor.objects.update(page=499)
        result = fetch_transactions(**options, client=Client(api.url, backoff=0, sleep=lambda seconds: None))
        assert result["done"]
        boundary = api.action_date(49_899).isoformat()  # the last transaction of page 499
        assert [(body["page"], start) for body, start in zip(api.requests, start_dates(api))] == [
            (1, "2020-10-01"), (499, "2020-10-01"), (1, boundary), (2, boundary), (3, boundary)]
        assert_within_the_window(api)
        assert set(api.answers) == {200}
        # Page 499 held transactions 49,800-49,899; 49,880-49,919 share the boundary date: 49,880-49,899 came twice.
        assert api.action_date(49_880) == api.action_date(49_919) != api.action_date(49_879)
        assert result["rows"] == 100 + 250 and FetchCursor.objects.get().rows == 450
        assert Transaction.objects.count() == 450
        probe, http = dict(api.requests[1], limit=100), httpx.Client(base_url=api.url, verify=False)
        assert http.post(SEARCH_PATH, json=dict(probe, page=500)).status_code == 500
        answer = http.post(SEARCH_PATH, json=dict(probe, page=501))
        http.close()
        assert answer.status_code == 422 and "maximum result limit (50000)" in answer.json()["detail"]
    finally:
        api.close()


def test_it_resumes_across_narrowed_windows_and_stores_each_transaction_once(companies):
    api = FakeUsaspending(total=450, window=200)
    try:
        first = fetch(api, max_pages=4, details=False)
        assert not first["done"] and first["rows"] == 4 * 50 - 3  # page 4 began again with 147-149, of page 3's last day
        assert FetchCursor.objects.get().query["filters"]["time_period"][0]["start_date"] > "2020-10-01"
        api.failures = [503] * 6  # the server goes away mid-way: give up, keep what was stored
        with pytest.raises(FetchError, match="gave up after 6 attempts"):
            fetch(api, details=False)
        assert FetchCursor.objects.get().rows == first["rows"]
        second = fetch(api, details=False)
        assert second["done"] and first["rows"] + second["rows"] == 450
        assert Transaction.objects.count() == 450 and FetchCursor.objects.get().rows == 450
        assert_within_the_window(api)
        starts = start_dates(api)
        assert starts == sorted(starts) and len(set(starts)) > 3
        # Once done, the same query starts over; it stores nothing twice.
        again = fetch(api, details=False)
        assert again["done"] and again["rows"] == 450 and Transaction.objects.count() == 450
    finally:
        api.close()


def test_a_fetch_until_today_resumes_the_next_day_with_the_end_date_it_began_with(companies, monkeypatch):
    api = FakeUsaspending(total=120)
    today = date(2024, 9, 30)

    class Clock(date):
        @classmethod
        def today(cls):
            return today

    monkeypatch.setattr(fetch_module, "date", Clock)
    said = []
    try:
        options = dict(agencies=["ICE"], since="2020-10-01", base_url=api.url, page_size=50, details=False)
        assert not fetch_transactions(**options, max_pages=1)["done"]
        today = date(2024, 10, 1)
        result = fetch_transactions(**options, echo=said.append)
        assert result["done"] and result["rows"] == 70 and Transaction.objects.count() == 120
        assert said[0] == "resuming at page 2 of the transactions from 2020-10-01 (50 already stored)"
        assert {body["filters"]["time_period"][0]["end_date"] for body in api.requests} == {"2024-09-30"}
        fetch_transactions(**options, max_pages=1)  # done: a new fetch, to the new today
        assert api.requests[-1]["filters"]["time_period"][0]["end_date"] == "2024-10-01"
        assert FetchCursor.objects.count() == 1
    finally:
        api.close()


def test_it_stops_when_one_day_holds_more_than_the_window(companies):
    api = FakeUsaspending(total=400, per_day=400, window=120)
    try:
        with pytest.raises(FetchError, match="2021-01-01 alone has more transactions than the API's 120-result window"):
            fetch(api, page_size=25, details=False, since="2021-01-01")
        assert Transaction.objects.count() == 75  # pages 1-3 are kept; page 4 would end past the window
        assert_within_the_window(api)
    finally:
        api.close()


def test_it_retries_politely_and_resumes_after_an_interruption(companies):
    api = FakeUsaspending(window=200, mods=10, failures=[(429, 0), 503])
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
        assert_within_the_window(api)
    finally:
        api.close()


def test_it_waits_as_retry_after_says_and_backs_off_exponentially_otherwise(companies):
    api = FakeUsaspending(failures=[(429, 7), 503, 502, (429, "Wed, 21 Oct 2015 07:28:00 GMT")])
    waits, said = [], []
    try:
        client = Client(api.url, backoff=1.0, sleep=waits.append, echo=said.append)
        result = fetch_transactions(agencies=["ICE"], since="2020-10-01", until="2024-09-30", base_url=api.url,
                                    page_size=100, max_pages=1, details=False, client=client)
        assert result["rows"] == 100
        assert waits[0] == 7.0 and 2.0 <= waits[1] <= 2.5 and 4.0 <= waits[2] <= 5.0 and waits[3] == 0.0
        assert said[0] == "HTTP 429; retrying in 7.0 s"
        assert api.answers == [429, 503, 502, 429, 200]
        api.failures = [400]  # a refusal is not retried
        with pytest.raises(FetchError, match="HTTP 400"):
            fetch_transactions(agencies=["ICE"], since="2020-10-01", until="2024-09-30", base_url=api.url,
                               page_size=100, details=False,
                               client=Client(api.url, backoff=1.0, sleep=waits.append))
        assert len(waits) == 4 and api.answers[-1] == 400
    finally:
        api.close()
    assert retry_after("120") == 120.0 and retry_after("soon") is None and retry_after(None) is None
    in_an_hour = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    assert 3590 < retry_after(in_an_hour) <= 3600


def test_an_award_the_api_does_not_know_keeps_what_its_transactions_say(companies, api):
    api.unknown_awards = {0}
    fetch(api, max_pages=1)
    award = Award.objects.get(award_key="CONT_AWD_70CMSD00000_7012_-NONE-_-NONE-")
    assert award.description == "CASE MANAGEMENT SOFTWARE"
    assert Award.objects.exclude(pk=award.pk).filter(description="FALCON CASE MANAGEMENT SUPPORT").count() == 9


def test_it_reports_bad_answers_and_bad_options(companies, api):
    result = run("fetch", "--agency", "NASA", "--base-url", api.url)
    assert result.exit_code == 1 and "unknown agency 'NASA'" in result.output
    result = run("fetch", "--since", "yesterday", "--base-url", api.url)
    assert result.exit_code == 1 and "--since 'yesterday'" in result.output
    api.failures = [400]
    result = run("fetch", "--base-url", api.url, "--quiet")
    assert result.exit_code == 1 and "HTTP 400" in result.output
    with pytest.raises(FetchError, match="--page-size 101"):
        fetch(api, page_size=101)
    api.search = lambda body: {"results": []}  # no page_metadata
    with pytest.raises(FetchError, match="lacks a results list or page_metadata.hasNext"):
        fetch(api)
