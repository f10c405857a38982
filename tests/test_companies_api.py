"""GET /api/v1/companies and /api/v1/companies/{slug}: the public registry."""

from __future__ import annotations

import pytest

from undersigned.companies.models import Company, EmailDomain
from undersigned.companies.registry import load_registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed():
    load_registry()


def by_slug(response):
    return {row["slug"]: row for row in response.json()["companies"]}


def test_it_serves_the_registry(client, seed):
    response = client.get("/api/v1/companies")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["count"] == len(data["companies"]) == Company.objects.count() >= 60
    aws = by_slug(response)["aws"]
    assert aws["name"] == "Amazon Web Services"
    assert aws["parent"] == "amazon" and aws["root"] == "amazon"
    assert "AWS" in aws["aliases"]
    linkedin = by_slug(response)["linkedin"]
    assert linkedin == {
        "slug": "linkedin", "name": "LinkedIn", "parent": "microsoft", "root": "microsoft",
        "domains": ["linkedin.com"], "aliases": ["LinkedIn Corporation"], "website": "https://about.linkedin.com/",
    }
    google = by_slug(response)["google"]
    assert google["root"] == "alphabet" and "google.com" in google["domains"]
    assert by_slug(response)["amazon"]["parent"] is None


def test_it_orders_companies_by_name(client, seed):
    names = [row["name"] for row in client.get("/api/v1/companies").json()["companies"]]
    assert names == [c.name for c in Company.objects.order_by("name", "slug")]


def test_it_is_cacheable_for_a_few_seconds(client, seed):
    response = client.get("/api/v1/companies")
    assert response["Cache-Control"] == "public, max-age=10"
    etag = response["ETag"]
    again = client.get("/api/v1/companies", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    Company.objects.create(slug="acme", name="Acme")
    changed = client.get("/api/v1/companies", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_it_filters_by_name_alias_and_domain(client, seed):
    assert set(by_slug(client.get("/api/v1/companies", {"q": "pen-link, ltd"}))) == {"penlink"}
    assert "aws" in by_slug(client.get("/api/v1/companies", {"q": "AWS"}))
    found = by_slug(client.get("/api/v1/companies", {"q": "amazon"}))
    assert {"amazon", "aws"} <= set(found)
    assert set(by_slug(client.get("/api/v1/companies", {"q": "linkedin.com"}))) == {"linkedin"}
    paragon = set(by_slug(client.get("/api/v1/companies", {"q": "Paragon Systems"})))
    assert paragon == set()
    empty = client.get("/api/v1/companies", {"q": "no such company anywhere"}).json()
    assert empty == {"count": 0, "companies": []}


def test_it_treats_an_empty_query_as_no_filter(client, seed):
    assert client.get("/api/v1/companies", {"q": "  "}).json()["count"] == Company.objects.count()


def test_it_refuses_an_oversized_query(client, seed):
    response = client.get("/api/v1/companies", {"q": "x" * 201})
    assert response.status_code == 400
    assert "error" in response.json()


def test_it_shows_html_in_names_as_data(client):
    Company.objects.create(slug="evil", name="<script>alert(1)</script>")
    response = client.get("/api/v1/companies")
    assert response.json()["companies"][0]["name"] == "<script>alert(1)</script>"
    assert response["Content-Type"] == "application/json"


def test_it_serves_an_empty_registry(client):
    assert client.get("/api/v1/companies").json() == {"count": 0, "companies": []}


def test_it_only_allows_reading(client, seed):
    for method in (client.post, client.put, client.delete, client.patch):
        response = method("/api/v1/companies")
        assert response.status_code == 405
        assert "GET" in response["Allow"]
        assert "error" in response.json()
    assert client.head("/api/v1/companies").status_code == 200


def test_it_serves_one_company(client, seed):
    response = client.get("/api/v1/companies/amazon")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=10"
    data = response.json()
    assert data["slug"] == "amazon" and data["root"] == "amazon" and data["parent"] is None
    assert {"aws", "whole-foods"} <= set(data["subsidiaries"])
    assert data["description"]


def test_it_answers_404_for_an_unknown_company(client, seed):
    response = client.get("/api/v1/companies/no-such-company")
    assert response.status_code == 404
    assert response.json() == {"error": "No company with this slug."}


def test_it_shows_internationalised_domains_in_ascii(client):
    company = Company.objects.create(slug="buecher", name="Bücher")
    EmailDomain.objects.create(domain="bücher.example", company=company)
    assert client.get("/api/v1/companies").json()["companies"][0]["domains"] == ["xn--bcher-kva.example"]


def test_it_is_described_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/companies" in document["paths"]
    assert "/api/v1/companies/{slug}" in document["paths"]
    schema = document["components"]["schemas"]["Company"]
    assert set(schema["required"]) == {"slug", "name", "parent", "root", "domains", "aliases", "website"}
    for ref in ("CompanyList", "CompanyDetail", "CompanyError"):
        assert ref in document["components"]["schemas"]


def test_it_answers_as_documented(client, seed):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    row_keys = set(schemas["Company"]["properties"])
    for row in client.get("/api/v1/companies").json()["companies"]:
        assert set(row) == row_keys
    detail_extra = set(schemas["CompanyDetail"]["allOf"][1]["properties"])
    assert set(client.get("/api/v1/companies/aws").json()) == row_keys | detail_extra
