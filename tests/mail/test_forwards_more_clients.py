"""Forwards from clients with no permissively licensed real sample in public fixtures (Zimbra,
GMX/Web.de, Proton, Front, Outlook for iOS/Android, iOS Mail), written here in the shapes those
clients print: attributed to the original sender with the original date and subject."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from backend.mail.forwards import find_forwarded
from backend.mail.message import Address, ParsedMessage

REP = Address("Sam Rep", "sam.rep@ourco.example")
WHEN = datetime(2021, 11, 2, 9, 26, tzinfo=timezone.utc)
CASES = {
    "zimbra-en": ("Fwd: Order 42", "----- Forwarded Message -----\nFrom: \"Jane Cooper\" <jane@northwind.example>\n"
                  "To: \"Sam Rep\" <sam.rep@ourco.example>\nSent: Tuesday, November 2, 2021 9:26:00 AM\n"
                  "Subject: Order 42", WHEN),
    "gmx-de": ("WG: Order 42", "-------- Weitergeleitete Nachricht --------\nGesendet: Dienstag, 02. November 2021 um "
               "09:26 Uhr\nVon: \"Jane Cooper\" <jane@northwind.example>\nAn: sam.rep@ourco.example\n"
               "Betreff: Order 42", WHEN),
    "proton-en": ("Fwd: Order 42", "------- Forwarded Message -------\nFrom: Jane Cooper <jane@northwind.example>\n"
                  "Date: On Tuesday, November 2nd, 2021 at 09:26\nSubject: Order 42\n"
                  "To: Sam Rep <sam.rep@ourco.example>", WHEN),
    "front-en": ("Fwd: Order 42", "---------- Forwarded message ----------\nFrom: Jane Cooper <jane@northwind.example>\n"
                 "Date: Tue, Nov 2, 2021 at 9:26 AM\nSubject: Order 42\nTo: sam.rep@ourco.example", WHEN),
    "outlook-ios-en": ("Fwd: Order 42", "________________________________\nFrom: Jane Cooper <jane@northwind.example>\n"
                       "Sent: Tuesday, November 2, 2021 9:26:50 AM\nTo: Sam Rep <sam.rep@ourco.example>\n"
                       "Subject: Order 42", WHEN.replace(second=50)),
    "outlook-android-it": ("I: Order 42", "________________________________\nDa: Jane Cooper <jane@northwind.example>\n"
                           "Inviato: martedì 2 novembre 2021 09:26\nA: Sam Rep <sam.rep@ourco.example>\n"
                           "Oggetto: Order 42", WHEN),
    "ios-mail-en": ("Fwd: Order 42", "Begin forwarded message:\n\nFrom: Jane Cooper <jane@northwind.example>\n"
                    "Date: 2 November 2021 at 10:26:00 CET\nTo: Sam Rep <sam.rep@ourco.example>\n"
                    "Subject: Order 42", WHEN),
    "ios-mail-fr-quoted": ("Fwd: Order 42", "Début du message réexpédié :\n\n> De: Jane Cooper <jane@northwind.example>\n"
                           "> Date: 2 novembre 2021 à 10:26:00 UTC+1\n> À: Sam Rep <sam.rep@ourco.example>\n"
                           "> Objet: Order 42", WHEN),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_from_client(name):
    subject, block, when = CASES[name]
    text = "Sent from my phone, FYI\n\n" + block + "\n\nWe would like 200 seats.\n"
    found = find_forwarded(ParsedMessage(subject=subject, from_=[REP], text=text))
    assert found is not None, name
    assert found.sender == Address("Jane Cooper", "jane@northwind.example")
    assert found.date == when and found.subject == "Order 42"
    assert "sam.rep@ourco.example" in [a.email for a in found.to]
    assert "200 seats" in found.text and "FYI" in found.note
