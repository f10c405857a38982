"""A small contract record loaded through the ingest command, for the page, feed and API tests."""

from tests.contracts.helpers import run, transaction, write_transactions


def load(tmp_path):
    rows = [
        transaction(),
        transaction(mod="P00001", federal_action_obligation="500", action_date="2024-11-02"),
        transaction(piid="70CMSD24FR0000178", recipient_uei="L997DB4PEJL8", recipient_name="WEST PUBLISHING CORPORATION",
                    prime_award_base_transaction_description="THOMSON REUTERS CLEAR SUBSCRIPTION", subtier="7014",
                    awarding_sub_agency_name="U.S. Customs and Border Protection", federal_action_obligation="41734.68"),
        transaction(piid="CARAHSOFT1", recipient_uei="CARAHSOFT001", recipient_name="CARAHSOFT TECHNOLOGY CORP.",
                    prime_award_base_transaction_description="AMAZON WEB SERVICES CLOUD HOSTING", federal_action_obligation="99999"),
        transaction(piid="PENLINK1", recipient_uei="", recipient_name="PEN-LINK, LIMITED", federal_action_obligation="10",
                    prime_award_base_transaction_description="PEN-LINK PLX SOFTWARE MAINTENANCE"),
        transaction(piid="PENLINK2", recipient_uei="", recipient_name="PEN-LINK, LTD.", federal_action_obligation="20",
                    prime_award_base_transaction_description="PLX LICENSES"),
        transaction(piid="PARAGON1", recipient_uei="PARAGONPRO01", recipient_name="PARAGON PROFESSIONAL SERVICES, LLC",
                    federal_action_obligation="5", prime_award_base_transaction_description="GUARD SERVICES"),
        transaction(piid="PARAGON2", recipient_uei="PARAGONSYS01", recipient_name="PARAGON SYSTEMS, INC.",
                    federal_action_obligation="7", prime_award_base_transaction_description="GUARD SERVICES"),
        transaction(piid="LEXIS1", recipient_uei="LEXISRISK001", recipient_name="LEXISNEXIS RISK SOLUTIONS INC.",
                    federal_action_obligation="300", prime_award_base_transaction_description="ACCURINT LICENSES"),
        transaction(piid="LEXIS2", recipient_uei="LEXISSPEC001", recipient_name="LEXISNEXIS SPECIAL SERVICES INC",
                    federal_action_obligation="400", prime_award_base_transaction_description="INVESTIGATIVE DATA"),
        transaction(piid="PALANTIRX", recipient_uei="PALANTYRUEI9", recipient_name="PALANTIR TECHNOLOGY INCORPORATED",
                    federal_action_obligation="1", prime_award_base_transaction_description="SOFTWARE"),
    ]
    result = run("ingest", write_transactions(tmp_path / "record.csv", rows))
    assert result.exit_code == 0, result.output
