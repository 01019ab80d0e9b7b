"""Properties of the ledger's column map: whatever a project holds, its exported ledger imports as no change."""

import itertools
import os
import unicodedata
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.enums import Stage
from app.services.ledger import columns
from tests.ledger_files import export, upload

PROPERTY = settings(max_examples=int(os.environ.get("LEDGER_EXAMPLES", "20")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_seq = itertools.count(1)

# Text as people type it, with the characters a spreadsheet treats specially up front.
text = st.builds(lambda lead, body: (lead + body).strip(),
                 st.sampled_from(["", "=", "+", "-", "@", "'", "''", "=cmd|' /C calc'!A0"]),
                 st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")), min_size=1, max_size=40)
                 ).filter(lambda t: 0 < len(t) <= 150 and any(c.isprintable() and not c.isspace() for c in t)
                          and unicodedata.normalize("NFC", t) == t)  # names as the registry keeps them
amounts = st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2)


@PROPERTY
@given(name=text, investor=text, amount=amounts, currency=st.sampled_from(["CNY", "USD", "JPY", "EUR"]),
       stage=st.sampled_from(list(Stage)), fmt=st.sampled_from(["xlsx", "csv"]))
async def test_any_project_survives_an_export_and_import_unchanged(api, name, investor, amount, currency, stage,
                                                                   fmt):
    project = await api.project(name=name, investor=f"{investor} #{next(_seq)}", stage=stage,
                                stage_entered_on="2021-05-05",
                                total_investment={"amount": str(amount), "currency": currency})
    r = await export(api, fmt)
    assert r.status_code == 200, r.text
    again = await upload(api, r.content, f"台账.{fmt}")
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"]) == (0, 0), again.json()
    assert await api.get_project(project["id"]) == project


@settings(max_examples=30, deadline=None, database=None)
@given(amount=amounts)
def test_an_amount_in_wan_reads_back_to_the_cent_as_text_or_as_a_spreadsheet_number(amount):
    wan = columns.in_wan(amount)
    assert columns.read_amount(format(wan, "f"), columns.WAN) == amount
    assert columns.read_amount(float(wan), columns.WAN) == amount
