"""The right API client for a stored connection, with its token source and mailbox gate key."""
from __future__ import annotations

from .connections import TokenSource
from .gmail import GmailClient
from .graph import GraphClient
from .obo import AnnouncementToken


def client_for(services, connection_id: int, provider: str):
    tokens = TokenSource(services, connection_id)
    key = ("mailbox", connection_id)
    if provider == "outlook":
        return GraphClient(services.settings.ms_graph_url, tokens, key)
    return GmailClient(services.settings.gmail_api_url, tokens, key)


def announcement_client(services, announcement_id: int) -> GraphClient:
    """A Graph client on the On-Behalf-Of access token kept on one announcement (no connection)."""
    return GraphClient(services.settings.ms_graph_url, AnnouncementToken(services, announcement_id),
                       ("announcement", announcement_id))
