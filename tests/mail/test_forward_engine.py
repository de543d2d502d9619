"""email-forward-parser as the first forward engine, and the guards around it."""
from __future__ import annotations

import time

from backend.mail.forward_engine import MAX_LINE, MAX_LINES, read_forward
from backend.mail.forwards import find_forwarded, read_forwarded
from backend.mail.message import Address, ParsedMessage

REP = Address("Sam Rep", "sam.rep@ourco.example")
GMAIL = ("Thanks, see below.\n\n---------- Forwarded message ---------\n"
         "From: Jane Cooper <jane.cooper@northwind.example>\nDate: Mon, Mar 3, 2025 at 10:15 AM\n"
         "Subject: Pricing\nTo: Sam Rep <sam.rep@ourco.example>\n\nwe need 200 seats.\n")
REPLY = ("Sounds good, see you then.\n\nOn Mon, 3 Mar 2025 at 10:15, \"Jane Cooper\" "
         "<jane.cooper@northwind.example> wrote:\n\n> Shall we meet on Tuesday?\n")


def test_reads_a_gmail_forward_and_names_the_engine():
    reading = read_forward(GMAIL, "Fwd: Pricing")
    assert reading.fields["from"] == "Jane Cooper <jane.cooper@northwind.example>"
    assert reading.note == "Thanks, see below." and reading.body == "we need 200 seats."
    found = find_forwarded(ParsedMessage(subject="Fwd: Pricing", from_=[REP], text=GMAIL))
    assert (found.sender.email, found.engine, found.subject) == ("jane.cooper@northwind.example",
                                                                  "email-forward-parser", "Pricing")


def test_a_reply_quote_header_is_not_a_forward():
    # The library takes "On … "Name" <address> wrote:" for Outlook 2019's forward separator.
    assert read_forward(REPLY, "Re: Tuesday") is None
    assert find_forwarded(ParsedMessage(subject="Re: Tuesday", from_=[REP], text=REPLY)) is None


def test_outlook_2019_one_line_header_under_a_forward_subject():
    text = "\ufeffOn 28/10/2021 12:46, \"John Doe\" <john.doe@acme.com> wrote:\n\n    Hello there.\n"
    found = find_forwarded(ParsedMessage(subject="FW: Hello", from_=[REP], text=text))
    assert found.sender == Address("John Doe", "john.doe@acme.com") and found.engine == "email-forward-parser"
    assert (found.date.day, found.date.month, found.date.hour, found.date.minute) == (28, 10, 12, 46)


def test_long_lines_are_cut_for_the_library_but_the_body_is_whole():
    long_line = "Lorem ipsum, dolor sit amet, " * 200
    text = GMAIL.replace("we need 200 seats.", "we need 200 seats.\n" + long_line)
    reading = read_forward(text, "Fwd: Pricing")
    assert len(long_line) > MAX_LINE and long_line.strip() in reading.body


def test_pathological_lines_stay_bounded():
    # 40 KB of "Dne , , ," makes the library backtrack for about a minute; cut, it is bounded.
    text = ("Dne " + ", " * 20_000 + "\n") * 3
    started = time.perf_counter()
    read_forward(text, "Fwd: x")
    assert time.perf_counter() - started < 5  # a minute without the cut; a generous bound on a slow CI box


def test_separator_beyond_the_window_falls_back_to_our_reader():
    text = "note\n" * (MAX_LINES + 5) + GMAIL
    assert read_forward(text, "Fwd: Pricing") is None
    found = find_forwarded(ParsedMessage(subject="Fwd: Pricing", from_=[REP], text=text))
    assert found.sender.email == "jane.cooper@northwind.example" and found.engine in ("own", "quotequail")


def test_a_forward_subject_without_an_address_stays_the_reps_and_says_why():
    text = "-----Original Message-----\nFrom: John Doe\nSent: 23 July 2022 07:53\nTo: Bessie Berry\n" \
           "Subject: Hello\n\nHi.\n"
    found, why = read_forwarded(ParsedMessage(subject="FW: Hello", from_=[REP], text=text))
    assert found is None and "no original sender's address could be read" in why
    found, why = read_forwarded(ParsedMessage(subject="Hello", from_=[REP], text="Just a note."))
    assert found is None and why == "Not a forward: logged as it was sent."


def test_the_reps_own_forward_is_looked_through():
    inner = GMAIL.replace("Thanks, see below.\n\n", "")
    text = ("FYI\n\n---------- Forwarded message ---------\nFrom: Sam Rep <sam.rep@ourco.example>\n"
            "Date: Mon, Mar 3, 2025 at 11:00 AM\nSubject: Fwd: Pricing\nTo: Boss <boss@ourco.example>\n\n" + inner)
    found = find_forwarded(ParsedMessage(subject="Fwd: Fwd: Pricing", from_=[REP], text=text))
    assert found.sender.email == "jane.cooper@northwind.example"


def test_a_flattened_yahoo_header_longer_than_the_cut_is_read_whole():
    recipients = "; ".join(f"Person {i} <person{i}@globex.corp>" for i in range(12))
    text = ("Vedi sotto.\n\n   ----- Messaggio inoltrato ----- Da: John Doe <john.doe@acme.com>A: "
            f"{recipients}Inviato: martedì 2 novembre 2021, 09:26:50 CETOggetto: Ordine 42\n Testo.\n")
    assert len(text.split("\n")[2]) > MAX_LINE
    found = find_forwarded(ParsedMessage(subject="I: Ordine 42", from_=[REP], text=text))
    assert found.sender.email == "john.doe@acme.com" and found.subject == "Ordine 42"
    assert len(found.to) == 12 and (found.date.hour, found.date.minute) == (8, 26)
