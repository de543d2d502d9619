"""What the deal ranking (backend/domain/dealrank.py) reads from the database, and the company's
deal-choice settings as the settings API and page change them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ..models import Company
from .dealhistory import earlier
from .dealrank import POLICIES, DealPolicy, candidate_ids
from .actor import Actor
from .errors import DomainError
from .users import require_admin

if TYPE_CHECKING:  # pragma: no cover
    from .linkrules import Conversation


def load_evidence(session: Session, company_id: int, conv: "Conversation") -> "Conversation":
    """``conv`` with what the evidence reads, when there is something to rank (two or more open
    deals): the company's policy and points (as last fitted by the job of backend/domain/dealpicks.py),
    the deals' owners and organisations, and the
    earlier conversations with the contacts linked to them (the newest per contact too): one
    query (and one for the company when the session does not hold it yet), only in that case.

    Earlier conversations count only when the rep (``conv.viewer_id``, else ``conv.user_id``)
    may see them: their own, or shared within the company."""
    deal_ids = candidate_ids(conv)
    decided = (conv.automatic or not conv.link_emails_to_items or any(i.item_type == "deal" for i in conv.addressed)
               or any(key[0] == "deal" and not removed for key, removed in conv.existing.items()))
    if len(deal_ids) < 2 or decided:  # nothing to rank: the rule-book decides without it
        return conv
    company = session.get(Company, company_id)
    conv.deal_policy = DealPolicy.of(company)
    viewer = conv.viewer_id if conv.viewer_id is not None else conv.user_id
    facts, history = earlier(session, company_id, [c.person_id for c in conv.contacts], deal_ids,
                             thread_id=conv.thread_id, viewer=viewer)
    conv.deal_facts = facts
    conv.deal_history = history
    return conv


def policy_error(policy, threshold, margin) -> dict[str, list[str]]:
    """Field messages for a policy, threshold or margin out of range (empty when all are fine);
    ``None`` means "not given"."""
    errors: dict[str, list[str]] = {}
    if policy is not None and policy not in POLICIES:
        errors["deal_choice_policy"] = [f"Use one of: {', '.join(POLICIES)}."]
    for name, value in (("deal_choice_threshold", threshold), ("deal_choice_margin", margin)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            errors[name] = ["Use a number from 0 to 1, such as 0.6."]
    return errors


def policy_settings(company: Company) -> dict:
    """The company's deal-choice settings as the settings API returns them and the page shows them."""
    policy = DealPolicy.of(company)
    return {"deal_choice_policy": policy.mode, "deal_choice_threshold": policy.threshold,
            "deal_choice_margin": policy.margin, "deal_choice_policies": list(POLICIES)}


def set_policy(actor: Actor, company: Company, *, policy: str | None = None, threshold: float | None = None,
               margin: float | None = None) -> None:
    """Changes the company's deal-choice settings (``None``: unchanged): admins only (403 naming the
    fields sent); 400 naming each field out of range, and then nothing changes."""
    given = {"deal_choice_policy": policy, "deal_choice_threshold": threshold, "deal_choice_margin": margin}
    require_admin(actor, "change the deal choice policy", [k for k, v in given.items() if v is not None])
    errors = policy_error(policy, threshold, margin)
    if errors:
        raise DomainError(400, "The deal choice settings are not valid; see errors.", errors)
    if policy is not None:
        company.deal_choice_policy = policy
    if threshold is not None:
        company.deal_choice_threshold = float(threshold)
    if margin is not None:
        company.deal_choice_margin = float(margin)
