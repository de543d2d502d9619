"""Acceptance is the SMTP hot path: it reads what it needs in a fixed, small number of statements."""
from __future__ import annotations

import pytest

from backend.intake.accept import accept_message

from .conftest import make_mail


@pytest.mark.parametrize("policy", ["off", "flag", "reject"])
def test_company_policy_comes_with_the_user(services, acme, sql_statements, policy, monkeypatch):
    from backend.intake.checks import SenderNotAuthenticated
    from backend.models import Company

    queued = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda *args: queued.append(args))  # acceptance alone

    with services.db.session() as session:
        session.get(Company, acme.company_id).sender_auth_policy = policy
        session.commit()
    sql_statements.clear()
    try:
        ids = accept_message(services, make_mail(acme.email, msgid="q1@acme.example"), source="smtp",
                             envelope_from=acme.email, recipients=[acme.bcc_address])
    except SenderNotAuthenticated:
        assert policy == "reject"  # unsigned mail
    else:
        assert policy != "reject" and len(ids) == 1 and len(queued) == 1
    reads = [s for s in sql_statements if s.upper().startswith("SELECT")]
    # The route (company by its slug), then the user joined with their company: nothing else.
    assert len(reads) == 2, reads
    assert "JOIN companies" in reads[1].replace('"', "")
    assert not any(s.startswith("SELECT companies.") and "WHERE companies.id =" in s for s in reads), reads
