import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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
    assert "matched the words “thomson reuters clear”" in html
    # The same page in Spanish explains its tags in Spanish; the CSV keeps the stored English text.
    spanish = client.get("/es/contracts/companies/thomson-reuters/").content.decode()
    assert "coincidencia: las palabras «thomson reuters clear»" in spanish and "matched" not in spanish
    assert not re.search(r"\sstyle=", html) and "<script>" not in html and "<script " not in html.replace('<script src', '')
    assert client.get("/contracts/companies/thomson-reuters/awards.csv").content.count(b"\n") == 2


def test_it_lists_reseller_awards_apart(companies, tmp_path, client):
    load(tmp_path)
    html = client.get("/contracts/companies/amazon/").content.decode()
    assert "CARAHSOFT1" in html and "Held by resellers" in html


def test_it_answers_404_for_an_unknown_company(client, db):
    assert client.get("/contracts/companies/nobody/").status_code == 404


@settings(max_examples=300, deadline=None)
@given(psc=st.one_of(st.none(), st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True)),
       naics=st.one_of(st.none(), st.from_regex(r"[0-9]{2,6}", fullmatch=True)),
       word=st.one_of(st.none(), st.from_regex(r"[a-z0-9]([a-z0-9'&.-]| (?! ))*[a-z0-9]|[a-z0-9]", fullmatch=True)))
def test_every_explanation_a_rule_writes_reads_back_in_the_page_language(psc, naics, word):
    # Pages show the stored English explanation in their language by reading it back; any explanation
    # Rule.explain can write must read back to the same reasons.
    from django.utils import translation

    from undersigned.contracts.categories import Rule, explanation_in_language

    assume(psc or naics or word)
    rule = Rule(id="r", psc=(psc,) if psc else (), naics=(naics,) if naics else (), keywords=(word,) if word else ())
    stored = rule.explain(f"a {word} b" if word else "", psc or "", naics or "")
    assert stored is not None
    reasons = [f"PSC {psc}"] if psc else []
    reasons += [f"NAICS {naics}"] if naics else []
    with translation.override("en"):
        if word:
            reasons.append(f"the {'words' if ' ' in word else 'word'} “{word}”")
        assert explanation_in_language(stored) == "matched " + " and ".join(reasons)
    with translation.override("es"):
        shown = explanation_in_language(stored)
        assert shown.startswith("coincidencia: ") and (not word or f"«{word}»" in shown)
