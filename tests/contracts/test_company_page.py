import re

import pytest

from tests.contracts.records import load

pytestmark = pytest.mark.django_db


def test_it_shows_a_company_with_its_chart_and_awards(companies, tmp_path, client):
    load(tmp_path)
    response = client.get("/contracts/companies/thomson-reuters/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="img"' in html and "<svg" in html and "<title id=\"chart-title\">" in html
    assert "https://www.usaspending.gov/award/CONT_AWD_70CMSD24FR0000178_7014_GS35F0086U_4730/" in html
    assert "$41,734.68" in html and "CBP" in html
    assert "matched the words &#x27;thomson reuters clear&#x27;" in html or "thomson reuters clear" in html
    assert not re.search(r"\sstyle=", html) and "<script>" not in html and "<script " not in html.replace('<script src', '')
    assert client.get("/contracts/companies/thomson-reuters/awards.csv").content.count(b"\n") == 2


def test_it_lists_reseller_awards_apart(companies, tmp_path, client):
    load(tmp_path)
    html = client.get("/contracts/companies/amazon/").content.decode()
    assert "CARAHSOFT1" in html and "Held by resellers" in html


def test_it_answers_404_for_an_unknown_company(client, db):
    assert client.get("/contracts/companies/nobody/").status_code == 404
