"""The Smart Bcc address a draft should carry, from the same link rule-book the pipeline runs when
the mail arrives: the deal a draft is given is the deal its mail will be linked to."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import addresses
from ..models import Company, Deal, Lead, Person
from .actor import Actor
from .autolink import addressed_items, contacts_by_address, judge
from .errors import not_found
from .identity import company_user_ids
from .items import named

MAX_CANDIDATES = 100  # per kind; the picker is for people, not for bulk mail


@dataclass(frozen=True)
class Choice:
    """What the rep picked: nothing (``automatic``), explicitly no item, or one deal or lead."""

    automatic: bool = True
    item_type: str | None = None
    item_id: int | None = None


def _address(company: Company, mail_domain: str, kind: str, token: str | None) -> str | None:
    return addresses.item_address(company.slug, kind, token, mail_domain) if token else None


def _own_items(session: Session, company: Company, mail_domain: str, draft: list[str]) -> list[tuple[str, int]]:
    """The deals and leads of the company whose own Smart Bcc address is already in the draft (as
    acceptance routes them: by the address's token)."""
    found = []
    for addr in draft:
        decoded = addresses.decode(addr, mail_domain)
        if decoded is None or decoded.kind not in ("deal", "lead"):
            continue
        model = Deal if decoded.kind == "deal" else Lead
        item_id = session.scalar(select(model.id).where(model.bcc_token == decoded.token,
                                                        model.company_id == company.id))
        if item_id is not None:
            found.append((decoded.kind, item_id))
    return found


def _chosen(session: Session, company_id: int, choice: Choice):
    model = Deal if choice.item_type == "deal" else Lead
    row = session.execute(
        select(model.id, model.title, model.bcc_token, Person.name.label("person_name"))
        .outerjoin(Person, Person.id == model.person_id)
        .where(model.company_id == company_id, model.id == choice.item_id)).first()
    if row is None:
        raise not_found(choice.item_type)  # another company's item looks exactly like a missing one
    return row


def _bare(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "bcc_address"}


def suggest(session: Session, actor: Actor, company: Company, mail_domain: str, *, to: list[str], cc: list[str],
            bcc: list[str], choice: Choice, user_name: str | None = None, subject: str = "", text: str = "") -> dict:
    """The address for the draft, why, the links its mail will get, the picker's candidates and
    the Bcc entries to drop. Contacts are the To and Cc recipients, as in the arrived copy (Bcc
    recipients are not in a sent mail's headers); company users and Smart Bcc addresses never are."""
    company_addr = addresses.company_address(company.slug, mail_domain)
    visible = [a for a in dict.fromkeys(to + cc) if not addresses.is_smartbcc_address(a, mail_domain)]
    users = company_user_ids(session, company.id, visible)
    external = [a for a in visible if a not in users]
    contacts = contacts_by_address(session, company.id, external)
    seen = dict(user_id=actor.user_id, subject=subject, text=text)  # what the deal ranking reads
    conv, verdict = judge(session, company.id, user_name=user_name or actor.name,
                          link_emails_to_items=actor.link_emails_to_items, contacts=contacts, addressed=[], **seen)
    # A deal or lead address already in the draft is the rep's pick when it is one of the
    # recipients' contacts' own items; an address left from other recipients is replaced. The
    # draft keeps one Smart Bcc address, and the rules then judge the draft as it will be sent.
    own = {key: None for key in _own_items(session, company, mail_domain, to + cc + bcc)}
    mine = {d.key for ds in conv.open_deals.values() for d in ds} | {i.key for ls in conv.leads.values() for i in ls}
    picked = sorted((key for key in own if key in mine), key=lambda k: (k[0] != "deal", list(own).index(k)))[:1]
    if picked:
        conv, verdict = judge(session, company.id, user_name=user_name or actor.name,
                              link_emails_to_items=actor.link_emails_to_items, contacts=contacts,
                              addressed=addressed_items(session, company.id, picked), **seen)
    names = {c.person_id: c.name for c in conv.contacts}

    def entry(item) -> dict:
        return {"item_type": item.item_type, "id": item.id, "title": item.title,
                "person_name": names.get(item.person_id, ""),
                "bcc_address": _address(company, mail_domain, item.item_type, item.bcc_token)}

    def pool(by_person) -> list:
        seen: dict[int, object] = {}
        for contact in conv.contacts:
            for item in by_person.get(contact.person_id, []):
                seen.setdefault(item.id, item)
        return [entry(i) for i in list(seen.values())[:MAX_CANDIDATES]]

    deals = pool(conv.open_deals)
    ranking = verdict.ranking
    if ranking is not None:  # several open deals: best first, with the evidence (dealrank.py)
        by_id = {d["id"]: d for d in deals}
        deals = [dict(by_id[r.item.id], score=r.score, reasons=r.reasons) for r in ranking.ranked if r.item.id in by_id]
    suggested = ranking.suggested if ranking is not None and verdict.needs_deal_choice else None
    result = {"company_address": company_addr, "needs_deal_choice": verdict.needs_deal_choice,
              "candidates": {"deals": deals, "leads": pool(conv.leads)},
              "deal_choice_policy": ranking.policy.mode if ranking is not None else None,
              "suggested": next((d for d in deals if d["id"] == suggested.item.id), None) if suggested else None,
              "links": [dict(entry(p.item), rule=p.rule) for p in verdict.proposals],
              "rules": [{"rule": o.rule, "hit": o.hit, "code": o.code, "reason": o.reason} for o in verdict.outcomes]}
    address, item = company_addr, None
    if not choice.automatic and choice.item_type:
        row = _chosen(session, company.id, choice)
        item = {"item_type": choice.item_type, "id": row.id, "title": row.title, "person_name": row.person_name}
        chosen = _address(company, mail_domain, choice.item_type, row.bcc_token)
        if chosen:
            address, code = chosen, "chosen"
            reason = f"You picked {named(choice.item_type, row.title)}."
        else:
            code = "chosen-without-address"
            reason = f"{named(choice.item_type, row.title).capitalize()} has no Smart Bcc address yet: the company address is used."
    elif not choice.automatic:
        code, reason = "none-chosen", "You chose no deal or lead: the company address logs the mail."
    elif conv.addressed:
        first = conv.addressed[0]
        address = _address(company, mail_domain, first.item_type, first.bcc_token) or company_addr
        item, code = _bare(entry(first)), "item-address"
        reason = verdict.outcomes[0].reason
    elif verdict.deal is not None and verdict.deal.bcc_token:
        deal = verdict.deal
        address, item = _address(company, mail_domain, "deal", deal.bcc_token), _bare(entry(deal))
        decided = next(o for o in verdict.outcomes if o.code in ("deal-linked", "deal-confident"))
        code = "only-open-deal" if decided.code == "deal-linked" else "confident-deal"
        reason = decided.reason
    elif verdict.needs_deal_choice:
        code = "several-open-deals"
        reason = (f"The recipients' contacts have {len(verdict.candidates)} open deals: pick one, or the company "
                  "address logs the mail and you choose the deal later.")
    elif verdict.stopped_by == "link-setting":
        code = "setting-off"
        reason = (f"{user_name or actor.name}'s setting 'link emails to items' is off: the company address logs "
                  "the mail, linked to its contacts only.")
    elif conv.contacts:
        code = "no-open-deal"
        reason = "No open deal among the recipients' contacts: the company address logs the mail."
    else:
        code = "no-known-recipients"
        reason = "None of the recipients is a contact yet: the company address logs the mail."
    replace = [a for a in bcc if addresses.is_smartbcc_address(a, mail_domain) and a.lower() != address.lower()]
    result.update(address=address, reason=reason, reason_code=code, item=item, replace=replace)
    return result
