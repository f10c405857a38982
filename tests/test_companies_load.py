"""`undersigned companies load [PATH]`: the curated seed and organizers' own registry files."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from undersigned.cli import main
from undersigned.companies.models import Company, EmailDomain
from undersigned.companies.registry import SEED_PATH, load_seed_if_empty

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "usaspending"


def run(*args: str):
    return CliRunner().invoke(main, ["companies", "load", *args])


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "registry.toml"
    path.write_text(text)
    return str(path)


def test_it_loads_the_seed_with_at_least_60_companies():
    result = run()
    assert result.exit_code == 0, result.output
    seed = tomllib.loads(SEED_PATH.read_text())["company"]
    assert len(seed) >= 60
    assert Company.objects.count() == len(seed)
    assert f"Loaded {len(seed)} companies" in result.output
    assert f"{len(seed)} created" in result.output


def test_it_rolls_subsidiaries_up_to_their_parent():
    run()
    assert Company.objects.get(slug="aws").root.slug == "amazon"
    assert Company.objects.get(slug="whole-foods").root.slug == "amazon"
    assert Company.objects.get(slug="linkedin").root.slug == "microsoft"
    assert Company.objects.get(slug="github").root.slug == "microsoft"
    assert Company.objects.get(slug="google").root.slug == "alphabet"
    assert Company.objects.get(slug="tiktok").root.slug == "bytedance"
    assert Company.objects.get(slug="slack").root.slug == "salesforce"
    assert Company.objects.get(slug="west-publishing").root.slug == "thomson-reuters"
    assert Company.objects.get(slug="lexisnexis-special-services").root.slug == "relx"
    assert Company.objects.get(slug="venntel").root.slug == "unacast"
    assert EmailDomain.objects.get(domain="linkedin.com").company.slug == "linkedin"


def test_it_keeps_the_paragon_namesakes_apart():
    run()
    paragon = Company.objects.get(slug="paragon-solutions")
    assert "PARAGON SOLUTIONS (US) INC" in paragon.aliases
    for company in Company.objects.all():
        words = " ".join([company.name, *company.aliases]).upper()
        assert "PARAGON SYSTEMS" not in words, company.slug
        assert "PARAGON PROFESSIONAL" not in words, company.slug


def test_it_gives_every_seed_parent_an_entry_in_the_file():
    seed = tomllib.loads(SEED_PATH.read_text())["company"]
    slugs = {entry["slug"] for entry in seed}
    assert {entry["parent"] for entry in seed if "parent" in entry} <= slugs


def test_it_lists_only_ueis_found_in_the_shared_data():
    if not DATA.exists():
        pytest.skip(f"{DATA} is not here")
    seen = set()
    for path in DATA.glob("Contracts_*.csv"):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                for column, value in row.items():
                    if column and column.endswith("_uei") and value:
                        seen.add(value.strip().upper())
    seed = tomllib.loads(SEED_PATH.read_text())["company"]
    listed = {uei for entry in seed for uei in entry.get("ueis", [])}
    assert listed, "the seed should name some recipients"
    assert listed <= seen, sorted(listed - seen)


def test_it_is_idempotent():
    run()
    domains = EmailDomain.objects.count()
    result = run()
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated" in result.output
    assert "0 email domains added, 0 moved" in result.output
    assert EmailDomain.objects.count() == domains


def test_it_keeps_what_organizers_added():
    run()
    amazon = Company.objects.get(slug="amazon")
    amazon.aliases = [*amazon.aliases, "The Everything Store"]
    amazon.ueis = ["ABCDEFGH1234"]
    amazon.save()
    EmailDomain.objects.create(domain="amazon.fr", company=amazon)
    local = Company.objects.create(slug="acme-widgets", name="Acme Widgets")
    result = run()
    assert result.exit_code == 0, result.output
    amazon.refresh_from_db()
    assert "The Everything Store" in amazon.aliases and "AMAZON.COM LLC" in amazon.aliases
    assert amazon.ueis == ["ABCDEFGH1234"]
    assert EmailDomain.objects.get(domain="amazon.fr").company == amazon
    assert Company.objects.filter(pk=local.pk).exists()


def test_it_repoints_a_domain_to_the_company_the_file_names(tmp_path):
    other = Company.objects.create(slug="other", name="Other")
    EmailDomain.objects.create(domain="example.org", company=other)
    path = write(tmp_path, '[[company]]\nslug = "example"\nname = "Example"\ndomains = ["Example.ORG"]\n')
    result = run(path)
    assert result.exit_code == 0, result.output
    assert "example.org: other → example" in result.output
    assert EmailDomain.objects.get(domain="example.org").company.slug == "example"


def test_it_updates_a_company_from_the_file(tmp_path):
    path = write(tmp_path, '[[company]]\nslug = "example"\nname = "Example"\n')
    run(path)
    path = write(tmp_path, '[[company]]\nslug = "example"\nname = "Example Corp"\ndescription = "A test."\n')
    result = run(path)
    assert "1 updated" in result.output
    company = Company.objects.get(slug="example")
    assert (company.name, company.description) == ("Example Corp", "A test.")


def test_it_accepts_a_parent_already_in_the_registry(tmp_path):
    Company.objects.create(slug="parent-co", name="Parent Co")
    path = write(tmp_path, '[[company]]\nslug = "child"\nname = "Child"\nparent = "parent-co"\n')
    assert run(path).exit_code == 0
    assert Company.objects.get(slug="child").root.slug == "parent-co"


def test_it_normalises_internationalised_domains(tmp_path):
    path = write(tmp_path, '[[company]]\nslug = "buecher"\nname = "Bücher"\ndomains = ["BÜCHER.example"]\n')
    assert run(path).exit_code == 0
    assert EmailDomain.objects.get().domain == "xn--bcher-kva.example"


def test_it_checks_without_writing(tmp_path):
    path = write(tmp_path, '[[company]]\nslug = "example"\nname = "Example"\ndomains = ["example.org"]\n')
    result = run(path, "--check")
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output and "1 created" in result.output
    assert not Company.objects.exists()


BAD_FILES = {
    "unknown parent": (
        '[[company]]\nslug = "a"\nname = "A"\n\n[[company]]\nslug = "b"\nname = "B"\nparent = "nope"\n',
        ":5: company 'b': unknown parent 'nope'",
    ),
    "duplicate slug": (
        '[[company]]\nslug = "a"\nname = "A"\n\n[[company]]\nslug = "a"\nname = "A again"\n',
        ":5: company 'a': duplicate slug 'a' (first at line 1)",
    ),
    "duplicate domain": (
        '[[company]]\nslug = "a"\nname = "A"\ndomains = ["a.example"]\n\n'
        '[[company]]\nslug = "b"\nname = "B"\ndomains = ["A.example."]\n',
        ":6: company 'b': domain a.example is already listed for 'a'",
    ),
    "bad domain": ('[[company]]\nslug = "a"\nname = "A"\ndomains = ["not a domain"]\n', ":1: company 'a': bad domain 'not a domain'"),
    "single-label domain": ('[[company]]\nslug = "a"\nname = "A"\ndomains = ["localhost"]\n', "bad domain 'localhost'"),
    "free mail": ('[[company]]\nslug = "a"\nname = "A"\ndomains = ["gmail.com"]\n', "gmail.com is a free-mail domain"),
    "free mail abroad": ('[[company]]\nslug = "a"\nname = "A"\ndomains = ["yahoo.co.uk"]\n', "yahoo.co.uk is a free-mail domain"),
    "cycle": (
        '[[company]]\nslug = "a"\nname = "A"\nparent = "b"\n\n[[company]]\nslug = "b"\nname = "B"\nparent = "a"\n',
        "parent cycle a → b → a",
    ),
    "own parent": ('[[company]]\nslug = "a"\nname = "A"\nparent = "a"\n', "cannot be its own parent"),
    "bad slug": ('[[company]]\nslug = "Not A Slug"\nname = "A"\n', ":1: company 'Not A Slug': slug must be"),
    "missing name": ('[[company]]\nslug = "a"\n', ":1: company 'a': name is required"),
    "unknown key": ('[[company]]\nslug = "a"\nname = "A"\ndomain = ["a.example"]\n', "unknown keys ['domain']"),
    "alias merging two companies": (
        '[[company]]\nslug = "paragon-solutions"\nname = "Paragon Solutions"\n\n'
        '[[company]]\nslug = "paragon-systems"\nname = "Paragon Systems"\naliases = ["Paragon Solutions, Inc."]\n',
        ":5: company 'paragon-systems': its name or an alias reads as 'paragonsolutions', like company 'paragon-solutions'",
    ),
    "bad UEI": ('[[company]]\nslug = "a"\nname = "A"\nueis = ["123"]\n', "'123' is not a UEI"),
    "bad website": ('[[company]]\nslug = "a"\nname = "A"\nwebsite = "javascript:alert(1)"\n', "website must be an http(s) URL"),
    "not TOML": ('[[company]]\nslug = "a\nname = "A"\n', "not valid TOML"),
    "not a list": ('[[company]]\nslug = "a"\nname = "A"\ndomains = "a.example"\n', "domains must be a list of strings"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_it_refuses_a_bad_file_naming_the_file_and_entry(tmp_path, case):
    text, message = BAD_FILES[case]
    path = write(tmp_path, text)
    result = run(path)
    assert result.exit_code == 1
    assert message in result.output
    assert path in result.output
    assert "nothing was loaded" in result.output
    assert not Company.objects.exists()


def test_it_refuses_a_name_that_reads_like_a_company_already_stored(tmp_path):
    Company.objects.create(slug="penlink", name="Penlink")
    path = write(tmp_path, '[[company]]\nslug = "pen-link-2"\nname = "PEN-LINK, LTD."\n')
    result = run(path)
    assert result.exit_code == 1
    assert "like company 'penlink'" in result.output


def test_it_reports_a_missing_file(tmp_path):
    result = run(str(tmp_path / "missing.toml"))
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_it_loads_the_seed_only_into_an_empty_registry():
    loaded = load_seed_if_empty()
    assert loaded == Company.objects.count() >= 60
    assert load_seed_if_empty() == 0


def test_it_lists_the_registry():
    run()
    result = CliRunner().invoke(main, ["companies", "list"])
    assert result.exit_code == 0
    assert "Amazon [amazon]" in result.output
    assert "  Amazon Web Services [aws]" in result.output
