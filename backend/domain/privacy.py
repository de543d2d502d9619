"""Privacy chosen while writing: the rep marks a mail private or shared in the add-in (a tag on the
Smart Bcc address, backend/addresses.py); the choice decides a new conversation's visibility, and
for an existing conversation that differs it becomes an offer its owner accepts or dismisses —
never a silent change."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .. import addresses
from ..models import MailThread, User
from .actor import Actor
from .errors import DomainError
from .manual import share
from .visibility import require_owner


def state(shared: bool) -> str:
    return "shared" if shared else "private"


@dataclass(frozen=True)
class Chosen:
    """The privacy a mail's Smart Bcc addresses ask for (None: no choice, the user's default) and
    whether they disagreed (private then wins: a mail marked private is never shown by mistake)."""

    privacy: str | None
    conflicting: bool = False


def chosen(recipients: Iterable[str], mail_domain: str) -> Chosen:
    """The privacy tags of the mail's Smart Bcc addresses (the routes acceptance kept)."""
    tags = set()
    for address in recipients:
        decoded = addresses.decode(address or "", mail_domain)
        if decoded is not None and decoded.privacy:
            tags.add(decoded.privacy)
    if not tags:
        return Chosen(None)
    return Chosen("private" if "private" in tags else "shared", conflicting=len(tags) > 1)


def default_for(user: User) -> str:
    """The user's setting for new conversations, what the add-ins pre-select."""
    return "shared" if user.default_sharing == "shared" else "private"


def settle_new(thread: MailThread, user: User, choice: Chosen) -> str:
    """A new conversation's visibility: the rep's choice, else their default. Returns the reason."""
    if choice.privacy is None:
        thread.shared = default_for(user) == "shared"
        return f"{state(thread.shared).capitalize()}: {user.name}'s default for new conversations."
    thread.shared = choice.privacy == "shared"
    reason = f"{choice.privacy.capitalize()}: {user.name} marked the mail {choice.privacy} while writing it."
    if choice.conflicting:
        reason += " Its Smart Bcc addresses said private and shared; private wins."
    return reason


def settle_existing(thread: MailThread, user: User, choice: Chosen) -> tuple[str, str]:
    """An existing conversation keeps its visibility. When the mail asks for the other one, the
    change is offered to the conversation's owner (``visibility_offer``). Returns the outcome and
    the reason."""
    current = state(thread.shared)
    if choice.privacy is None or choice.privacy == current:
        if choice.privacy == current:
            thread.visibility_offer = None  # asked again for what it is: an older offer is moot
        return current, f"The conversation stays {current}."
    thread.visibility_offer = choice.privacy
    return "offered", (f"The conversation stays {current}: {user.name} marked this mail {choice.privacy}, "
                       f"so making the conversation {choice.privacy} is offered on its page.")


def offer_json(thread: MailThread, actor: Actor) -> dict | None:
    """What the thread shows of a pending offer; None when there is none or it no longer differs.
    Only the owner may act on it (``can_act``); a colleague who sees the thread just reads it."""
    offered = thread.visibility_offer
    if offered not in addresses.PRIVACY_TAGS or offered == state(thread.shared):
        return None
    who = "everyone in your company" if offered == "shared" else "only its owner"
    return {"current": state(thread.shared), "offered": offered, "can_act": thread.owner_id == actor.user_id,
            "text": (f"A mail of this conversation was marked {offered} while it was written. Make the "
                     f"conversation {offered}, so that {who} can see it?")}


def accept_offer(actor: Actor, thread: MailThread) -> str:
    """The owner accepts: the conversation takes the offered visibility (the share action). 409
    when there is nothing to accept any more. Returns the new state."""
    require_owner(thread, actor, "change who sees it")
    pending = offer_json(thread, actor)
    if pending is None:
        raise DomainError(409, f"There is no change of visibility to accept any more: the conversation is "
                               f"{state(thread.shared)}. Reload it to see its state.")
    share(actor, thread, pending["offered"] == "shared")
    thread.visibility_offer = None
    return pending["offered"]


def dismiss_offer(actor: Actor, thread: MailThread) -> str:
    """The owner keeps the conversation as it is; the offer goes. Returns the kept state."""
    require_owner(thread, actor, "change who sees it")
    thread.visibility_offer = None
    return state(thread.shared)
