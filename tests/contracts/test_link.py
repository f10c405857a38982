"""Attribution, through `undersigned contracts ingest` / `link` and the organizer area."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from undersigned.contracts.models import Award, LinkStatus, Mention, RecipientLink
from undersigned.contracts.totals import contract_totals
from tests.contracts.helpers import run, show
from tests.contracts.records import load

pytestmark = pytest.mark.django_db


def piids(slug):
    return {award["award_id"]: award["link_method"] for award in show(slug)["awards"]}


def test_it_merges_variants_keeps_namesakes_apart_and_rolls_subsidiaries_up(companies, tmp_path):
    load(tmp_path)
    assert set(piids("penlink")) == {"PENLINK1", "PENLINK2"}  # PEN-LINK, LIMITED = PEN-LINK, LTD.
    assert piids("paragon-systems") == {"PARAGON2": "alias"}  # not PARAGON PROFESSIONAL SERVICES
    assert set(piids("relx")) == {"LEXIS1", "LEXIS2"}  # LexisNexis subsidiaries → RELX
    assert "70CMSD24FR0000178" in piids("thomson-reuters")  # WEST PUBLISHING → Thomson Reuters
    assert piids("palantir") == {"HSCETC13F00030": "uei"}


def test_it_keeps_reseller_awards_apart_from_the_total(companies, tmp_path):
    load(tmp_path)
    mention = Mention.objects.get()
    assert (mention.award.piid, mention.company.slug, mention.matched) == ("CARAHSOFT1", "amazon", "AMAZON WEB SERVICES")
    assert show("amazon")["awards"] == [] and show("amazon")["total_obligated"] == 0
    totals = contract_totals([companies["amazon"], companies["thomson-reuters"], companies["palantir"], companies["relx"]])
    assert totals[companies["amazon"].pk] == 0
    assert totals[companies["thomson-reuters"].pk] == Decimal("41734.68")
    assert totals[companies["palantir"].pk] == Decimal("1500.00")
    assert totals[companies["relx"].pk] == Decimal("700.00")


def test_it_only_suggests_fuzzy_matches_until_an_organizer_confirms(companies, tmp_path, client):
    load(tmp_path)
    suggestion = RecipientLink.objects.get(recipient__name="PALANTIR TECHNOLOGY INCORPORATED")
    assert (suggestion.status, suggestion.method, suggestion.company.slug) == (LinkStatus.SUGGESTED, "fuzzy", "palantir")
    assert "PALANTIRX" not in piids("palantir")
    organizer = User.objects.create_superuser("organizer", "organizer@example.org", "pw")
    client.force_login(organizer)
    response = client.post("/organizer/contracts/recipientlink/", {"action": "confirm", "_selected_action": [suggestion.pk]})
    assert response.status_code == 302
    assert piids("palantir")["PALANTIRX"] == "fuzzy"
    client.post("/organizer/contracts/recipientlink/", {"action": "reject", "_selected_action": [suggestion.pk]})
    assert "PALANTIRX" not in piids("palantir")
    result = run("link")  # relinking keeps the organizer's decision
    assert result.exit_code == 0 and "suggestions" in result.output
    assert RecipientLink.objects.get(pk=suggestion.pk).status == LinkStatus.REJECTED
    assert Award.objects.get(piid="PALANTIRX").company is None


def test_it_links_again_when_the_registry_changes(companies, tmp_path):
    load(tmp_path)
    paragon = companies["paragon-systems"]
    paragon.aliases = []
    paragon.ueis = ["PARAGONPRO01"]
    paragon.save()
    assert run("link").exit_code == 0
    assert piids("paragon-systems")["PARAGON1"] == "uei"
