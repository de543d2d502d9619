"""What the deal ranking (backend/domain/dealrank.py) reads from the database, and the company's
deal-choice settings as the settings API and page change them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import Company, Deal, MailThread, Organization, ThreadLink
from .dealrank import POLICIES, DealFacts, DealHistory, DealPolicy, candidate_ids
from .actor import Actor
from .errors import DomainError
from .users import require_admin
from .sql import in_ids

if TYPE_CHECKING:  # pragma: no cover
    from .linkrules import Conversation


def load_evidence(session: Session, company_id: int, conv: "Conversation") -> "Conversation":
    """``conv`` with what the evidence reads, when there is something to rank (two or more open
    deals): the company's policy, the deals' owners and organisations, and the earlier
    conversations with the contacts linked to them (the newest per contact too): one query (and
    one for the company when the session does not hold it yet), only in that case.

    Earlier conversations count only when the rep (``conv.viewer_id``, else ``conv.user_id``)
    may see them: their own, or shared within the company."""
    deal_ids = candidate_ids(conv)
    decided = (conv.automatic or not conv.link_emails_to_items or any(i.item_type == "deal" for i in conv.addressed)
               or any(key[0] == "deal" and not removed for key, removed in conv.existing.items()))
    if len(deal_ids) < 2 or decided:  # nothing to rank: the rule-book decides without it
        return conv
    conv.deal_policy = DealPolicy.of(session.get(Company, company_id))
    person_ids = [c.person_id for c in conv.contacts]
    viewer = conv.viewer_id if conv.viewer_id is not None else conv.user_id
    person, deal = aliased(ThreadLink), aliased(ThreadLink)
    visible = MailThread.shared.is_(True) if viewer is None else or_(MailThread.owner_id == viewer,
                                                                      MailThread.shared.is_(True))
    earlier = (
        select(deal.item_id.label("deal_id"), deal.origin, person.item_id.label("person_id"),
               MailThread.id.label("thread_id"), MailThread.last_message_at)
        .select_from(person)
        .join(deal, and_(deal.thread_id == person.thread_id, deal.item_type == "deal", deal.removed.is_(False)))
        .join(MailThread, MailThread.id == person.thread_id)
        .where(person.company_id == company_id, person.item_type == "person",
               in_ids(session, person.item_id, person_ids), person.removed.is_(False),
               in_ids(session, deal.item_id, deal_ids), MailThread.id != (conv.thread_id or 0),
               MailThread.message_count > 0, visible)).subquery()
    # One query: each candidate's owner and organisation, with its earlier conversations (if any).
    rows = session.execute(
        select(Deal.id, Deal.owner_id, Organization.name, earlier.c.origin, earlier.c.person_id,
               earlier.c.thread_id, earlier.c.last_message_at)
        .outerjoin(Organization, Organization.id == Deal.organization_id)
        .outerjoin(earlier, earlier.c.deal_id == Deal.id)
        .where(Deal.company_id == company_id, in_ids(session, Deal.id, deal_ids)))
    facts: dict[int, DealFacts] = {}
    history: dict[int, DealHistory] = {}
    for deal_id, owner_id, org_name, origin, person_id, thread_id, last_at in rows:
        facts[deal_id] = DealFacts(owner_id, org_name or "")
        if thread_id is None:
            continue
        hist = history.setdefault(deal_id, DealHistory())
        hist.threads.add(thread_id)
        hist.person_ids.add(person_id)
        if origin == "address":
            hist.by_address.add(thread_id)
        if last_at is not None and (hist.last_at is None or last_at > hist.last_at):
            hist.last_at = last_at
        if last_at is not None and (person_id not in hist.last_by_person or last_at > hist.last_by_person[person_id]):
            hist.last_by_person[person_id] = last_at
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
