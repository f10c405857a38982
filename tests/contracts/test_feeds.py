import pytest

from tests.contracts.records import load

pytestmark = pytest.mark.django_db


def test_it_publishes_new_awards_per_company_and_category(companies, tmp_path, client):
    load(tmp_path)
    response = client.get("/contracts/companies/relx/feed/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert "LEXIS1" in body and "LEXIS2" in body and "https://www.usaspending.gov/award/" in body
    body = client.get("/contracts/categories/public-records/feed/").content.decode()
    assert "LEXIS1" in body
    assert client.get("/contracts/categories/nope/feed/").status_code == 404
