"""Automatic mail (bounces, out-of-office replies) as a rep forwards it: the originals, and the
rep's forward around them (attached as message/rfc822, the way Outlook's "forward as attachment"
and forwarding rules send it, or quoted inline). Shared by the mail and the end-to-end tests."""
from __future__ import annotations

REP = "alice@acme.example"
BOUNDARY = "=_smartbcc-forward-outer-7f3a9c"


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _rep_mail(rep: str, subject: str) -> str:
    return (f"From: Alice Rep <{rep}>\nTo: Bob Buyer <bob@customer.example>\n"
            f"Subject: {subject}\nDate: Mon, 3 Mar 2025 09:12:00 +0100\n"
            "Message-ID: <offer-17@acme.example>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\nHi Bob, the offer is attached.\n")


def postfix_bounce(rep: str = REP) -> bytes:
    return _crlf(f"""From: MAILER-DAEMON@mail.customer.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {rep}
Date: Mon, 3 Mar 2025 09:12:04 +0100 (CET)
Message-Id: <20250303081204.5C1A2@mail.customer.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="5C1A2.1741000324/mail.customer.example"

This is a MIME-encapsulated message.

--5C1A2.1741000324/mail.customer.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.customer.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<bob@customer.example>: host mail.customer.example said: 550 5.1.1
    <bob@customer.example>: Recipient address rejected: User unknown

--5C1A2.1741000324/mail.customer.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.customer.example
X-Postfix-Queue-ID: 5C1A2
Arrival-Date: Mon,  3 Mar 2025 09:12:03 +0100 (CET)

Final-Recipient: rfc822; bob@customer.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <bob@customer.example>: Recipient address rejected

--5C1A2.1741000324/mail.customer.example
Content-Description: Undelivered Message
Content-Type: message/rfc822

{_rep_mail(rep, "Offer 17")}
--5C1A2.1741000324/mail.customer.example--
""")


def office365_ndr(rep: str = REP) -> bytes:
    return _crlf(f"""From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
To: {rep}
Date: Mon, 3 Mar 2025 08:15:11 +0000
Subject: Undeliverable: Offer 17
Message-ID: <5b6c1d2e-ndr@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_ndr_boundary_"

--_000_ndr_boundary_
Content-Type: text/plain; charset="us-ascii"

Your message to bob@customer.example couldn't be delivered.
bob wasn't found at customer.example.

--_000_ndr_boundary_
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com

Final-recipient: RFC822; bob@customer.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found

--_000_ndr_boundary_
Content-Type: message/rfc822

{_rep_mail(rep, "Offer 17")}
--_000_ndr_boundary_--
""")


def exchange_out_of_office(subject: str = "Automatic reply: Offer 17", sender: str = "jane@customer.example",
                           name: str = "Jane Buyer", text: str = "I am out of the office until Monday.") -> bytes:
    # What Exchange puts on an out-of-office reply sent outside the organisation: no
    # Auto-Submitted header, X-Auto-Response-Suppress and the reply's subject prefix.
    return _crlf(f"""From: {name} <{sender}>
To: Alice Rep <{REP}>
Subject: {subject}
Thread-Topic: Offer 17
Thread-Index: AQHbjDk2Y2p3+Qm1TkqJ0vTqS9L5Qw==
Date: Mon, 3 Mar 2025 08:12:09 +0000
Message-ID: <PR3P191MB0918A1B2@PR3P191MB0918.EURP191.PROD.OUTLOOK.COM>
In-Reply-To: <offer-17@acme.example>
References: <offer-17@acme.example>
Content-Language: it-IT
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
X-Auto-Response-Suppress: All
X-MS-Exchange-Organization-AuthAs: Internal
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="_000_PR3P191MB0918_"

--_000_PR3P191MB0918_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{text}

--_000_PR3P191MB0918_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: 8bit

<html><body><p>{text}</p></body></html>

--_000_PR3P191MB0918_--
""")


def italian_out_of_office() -> bytes:
    return exchange_out_of_office("Risposta automatica: Offer 17", "mario.rossi@cliente.example", "Mario Rossi",
                                  "Sono fuori ufficio fino a lunedì, con accesso limitato alla posta.")


def customer_reply() -> bytes:
    return _crlf("""From: Bob Buyer <bob@customer.example>
To: Alice Rep <alice@acme.example>
Subject: Re: Offer 17
Date: Mon, 3 Mar 2025 10:01:00 +0100
Message-ID: <reply-17@customer.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thanks Alice, we would like 200 seats.
""")


def forward_as_attachment(original: bytes, subject: str, rep: str = REP, to: str = "log@acme.example",
                          message_id: str = "<fw-1@acme.example>") -> bytes:
    """The rep's forward with the original attached whole, as Outlook sends it."""
    head = _crlf(f"""From: Alice Rep <{rep}>
To: {to}
Subject: FW: {subject}
Date: Mon, 3 Mar 2025 11:00:00 +0100
Message-ID: {message_id}
MIME-Version: 1.0
X-Mailer: Microsoft Outlook 16.0
Content-Type: multipart/mixed; boundary="{BOUNDARY}"

--{BOUNDARY}
Content-Type: text/plain; charset="utf-8"

Please log this.

--{BOUNDARY}
Content-Type: message/rfc822
Content-Disposition: attachment; filename="original.eml"

""")
    original = original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return head + original.rstrip(b"\r\n") + _crlf(f"\n\n--{BOUNDARY}--\n")


def inline_forwarded_bounce(rep: str = REP, to: str = "log@acme.example") -> bytes:
    """A Gmail bounce forwarded inline from Gmail."""
    return _crlf(f"""From: Alice Rep <{rep}>
To: {to}
Subject: Fwd: Delivery Status Notification (Failure)
Date: Mon, 3 Mar 2025 11:05:00 +0100
Message-ID: <fwd-inline-bounce@acme.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

FYI

---------- Forwarded message ---------
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
Date: Mon, 3 Mar 2025 at 09:12
Subject: Delivery Status Notification (Failure)
To: <{rep}>


Address not found

Your message wasn't delivered to bob@customer.example because the address
couldn't be found, or is unable to receive mail.
""")


def forward_with_email_package(original: bytes, rep: str = REP, to: str = "log@acme.example",
                               message_id: str = "<fw-pkg@acme.example>") -> bytes:
    """The rep's "Fwd:" built with the email package: a short note and ``original`` attached
    as message/rfc822, as Thunderbird and Apple Mail forward as attachment."""
    from email import message_from_bytes, policy
    from email.header import decode_header, make_header
    from email.message import EmailMessage

    inner = message_from_bytes(original, policy=policy.compat32)
    outer = EmailMessage()
    outer["From"] = f"Alice Rep <{rep}>"
    outer["To"] = to
    subject = " ".join(str(make_header(decode_header(str(inner.get("Subject", ""))))).split())[:200]
    outer["Subject"] = f"Fwd: {subject}"
    outer["Date"] = "Mon, 3 Mar 2025 11:00:00 +0100"
    outer["Message-ID"] = message_id
    outer.set_content("Please log this.\n")
    outer.add_attachment(inner, filename="original.eml")
    return outer.as_bytes()
