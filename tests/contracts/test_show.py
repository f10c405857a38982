import json

import pytest

from tests.contracts.helpers import run
from tests.contracts.records import load

pytestmark = pytest.mark.django_db


def test_it_prints_json_table_and_csv(companies, tmp_path):
    load(tmp_path)
    document = json.loads(run("show", "Thomson Reuters", "--format", "json").stdout)
    assert document["company"] == "thomson-reuters" and document["total_obligated"] == 41734.68
    assert document["by_fiscal_year"] == {"2024": {"CBP": 41734.68}}
    table = run("show", "thomson-reuters").stdout
    assert "70CMSD24FR0000178" in table or "70CMSD24F" in table
    assert run("show", "relx", "--format", "csv").stdout.startswith("award_key,")


def test_it_fails_for_an_unknown_company(db):
    result = run("show", "nobody")
    assert result.exit_code == 1 and "No company 'nobody'" in result.output
