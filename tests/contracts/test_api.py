import pytest

from tests.contracts.helpers import show
from tests.contracts.records import load

pytestmark = pytest.mark.django_db


def test_it_serves_the_same_document_as_the_cli(companies, tmp_path, client):
    load(tmp_path)
    response = client.get("/api/v1/companies/relx/contracts")
    assert response.status_code == 200
    document = response.json()
    assert document == show("relx")
    assert list(document) == ["company", "name", "total_obligated", "by_fiscal_year", "awards"]
    assert document["by_fiscal_year"] == {"2024": {"ICE": 700.0}}
    assert set(document["awards"][0]) == {"award_key", "award_id", "recipient", "agency", "obligated", "first_action_date",
                                          "last_action_date", "categories", "link_method"}
    csv = client.get("/api/v1/companies/relx/contracts", {"format": "csv"})
    assert csv.content.decode().count("\n") == 3


def test_it_answers_errors_in_json(client, db, companies):
    response = client.get("/api/v1/companies/nobody/contracts")
    assert response.status_code == 404 and "nobody" in response.json()["error"]
    assert client.get("/api/v1/companies/relx/contracts", {"format": "xml"}).status_code == 400


def test_it_is_described_in_openapi(client, db):
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/companies/{slug}/contracts" in document["paths"]
    assert "CompanyContracts" in document["components"]["schemas"]
