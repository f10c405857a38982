import pytest

from tests.contracts.helpers import run, transaction, write_transactions
from tests.contracts.records import load

pytestmark = pytest.mark.django_db


def test_it_searches_descriptions(companies, tmp_path, client):
    load(tmp_path)
    html = client.get("/contracts/", {"q": "accurint"}).content.decode()
    assert "LEXIS1" in html and "LEXIS2" not in html
    html = client.get("/contracts/", {"q": "guard services"}).content.decode()
    assert "PARAGON1" in html and "PARAGON2" in html and "PENLINK1" not in html


def test_it_filters_and_exports_csv(companies, tmp_path, client):
    load(tmp_path)
    html = client.get("/contracts/", {"company": "relx", "fy": "2024"}).content.decode()
    assert "LEXIS1" in html and "PENLINK1" not in html
    response = client.get("/contracts/export.csv", {"category": "cloud"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("award_key,award_id") and "CARAHSOFT1" in lines[1]


@pytest.mark.parametrize("query", [{"fy": "abc"}, {"company": "nobody"}, {"category": "nope"}, {"agency": "XYZ"}])
def test_it_answers_400_with_a_message_for_bad_filters(client, db, query):
    response = client.get("/contracts/", query)
    assert response.status_code == 400
    assert b'class="error"' in response.content
    assert client.get("/contracts/export.csv", query).status_code == 400


def test_it_finds_words_that_are_not_ascii(companies, tmp_path, client):
    path = write_transactions(tmp_path / "a.csv", [
        transaction(piid="GERMAN1", prime_award_base_transaction_description="Überwachung der Straße")])
    assert run("ingest", path).exit_code == 0
    html = client.get("/contracts/", {"q": "straße"}).content.decode()
    assert "GERMAN1" in html


def test_category_names_follow_the_page_language(companies, tmp_path, client):
    load(tmp_path)
    english = client.get("/contracts/categories/cloud/")
    spanish = client.get("/es/contracts/categories/cloud/")
    assert english.status_code == spanish.status_code == 200
    assert "<h1>Cloud and hosting</h1>" in english.content.decode()
    assert "<h1>Nube y alojamiento</h1>" in spanish.content.decode()
    assert "Nube y alojamiento" in client.get("/es/contracts/").content.decode()
