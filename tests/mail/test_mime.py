"""parse_message: real-world corpus, hostile synthetic input and fuzzing; it must never raise."""
from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.mail.message import Address, ParsedMessage
from backend.mail.mime import parse_message
from tests.corpus import corpus_dir, corpus_files

UTC = timezone.utc
FILES = corpus_files()


def _corpus(name: str, **limits) -> ParsedMessage:
    return parse_message((corpus_dir() / name).read_bytes(), **limits)


def _check_shape(msg: ParsedMessage) -> None:
    """Invariants every result must keep, whatever the input."""
    assert isinstance(msg, ParsedMessage)
    assert re.fullmatch(r"[0-9a-f]{64}", msg.content_hash)
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert msg.date is None or msg.date.utcoffset().total_seconds() == 0
    assert len(msg.headers) <= 2000 and all(len(v) <= 8192 for _, v in msg.headers)
    assert len(msg.references) <= 100 and len(msg.defects) <= 101
    for address in msg.from_ + msg.to + msg.cc + msg.bcc + msg.reply_to:
        assert address.email.count("@") == 1 and not re.search(r"[\s<>()]", address.email)
    for part in msg.attachments:
        assert part.sha256 == hashlib.sha256(part.content).hexdigest()
    for inner in msg.attached_messages:
        _check_shape(inner)


# --- the shared corpus ---------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_file_parses(path):
    started = time.monotonic()
    msg = parse_message(path.read_bytes())
    # Loose on purpose: this catches runaway parsing, not slow machines.
    assert time.monotonic() - started < 20
    _check_shape(msg)


def test_whole_corpus_within_a_minute():
    assert len(FILES) > 100
    started = time.monotonic()
    for path in FILES:
        parse_message(path.read_bytes())
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("path", corpus_files("flanker/bounce/*"), ids=lambda p: p.name)
def test_flanker_bounces_are_bounces(path):
    assert parse_message(path.read_bytes()).auto_kind == "bounce"


@pytest.mark.parametrize("path", corpus_files("flanker/complaints/*"), ids=lambda p: p.name)
def test_feedback_reports_are_complaints(path):
    # aol.eml also says "Precedence: list"; the complaint must win.
    assert parse_message(path.read_bytes()).auto_kind == "complaint"


@pytest.mark.parametrize("path", corpus_files("talon/*.eml"), ids=lambda p: p.name)
def test_personal_replies_are_not_automatic(path):
    msg = parse_message(path.read_bytes())
    assert msg.auto_kind is None
    assert msg.sender is not None and msg.text


def test_kinds_of_other_corpus_files():
    assert _corpus("flanker/disposition-notification.eml").auto_kind == "auto-reply"
    assert _corpus("flanker/apache-message-news-mime.eml").auto_kind == "bulk"  # Precedence: bulk
    assert _corpus("cpython/msg_16.txt").auto_kind == "bounce"  # postmaster + DSN
    assert _corpus("flanker/attached-pdf.eml").auto_kind is None


def test_encoded_display_name_with_comma_and_message_id():
    msg = _corpus("flanker/encoded-header.eml")
    assert msg.from_ == [Address("Foo, Bar", "foo.bar@example.com")]
    assert msg.to == [Address("", "foo@example.com")]
    assert msg.message_id == "1234567890-1234-4567@example.com"
    assert msg.subject == "hello" and msg.text == "hello, world\n"


def test_encoded_words_split_inside_a_utf8_subject():
    msg = _corpus("flanker/bilingual-simple.eml")
    assert msg.subject == "Simple text. How are you? Как ты поживаешь?"
    assert msg.text.startswith("This line is in English\nА эта линия по-русски.")
    assert msg.message_id == "341090.85574.qm@web50704.mail.re2.yahoo.com"
    assert msg.date == datetime(2010, 2, 7, 22, 2, 38, tzinfo=UTC)  # -0800 (PST)


def test_latin1_encoded_display_name():
    assert _corpus("flanker/from-encoding.eml").from_ == [Address("Ingo Lütkebohle", "ingo@blank.pages.de")]


def test_pdf_attachment_and_preamble_ignored():
    msg = _corpus("flanker/attached-pdf.eml")
    assert msg.text.strip() == "Test - body content"
    assert msg.html is None
    [pdf] = msg.attachments
    assert (pdf.filename, pdf.content_type, pdf.inline) == ("test.pdf", "application/pdf", False)
    assert pdf.content.startswith(b"%PDF-1.3") and pdf.size == 6940


def test_image_attachment_and_alternative_bodies():
    msg = _corpus("flanker/mailgun-pic.eml")
    [png] = msg.attachments
    assert png.filename == "mailgun.png" and png.content.startswith(b"\x89PNG\r\n")
    assert msg.text is not None and msg.html is not None and "<" in msg.html


def test_rfc2231_cyrillic_filename():
    [image] = _corpus("flanker/russian-attachment-yahoo.eml").attachments
    assert image.filename.startswith("Картинка с очень, очень длинным")
    assert image.content_type == "image/png"


def test_enclosed_message_is_parsed_recursively():
    msg = _corpus("flanker/enclosed.eml")
    [inner] = msg.attached_messages
    assert inner.subject == "Thanks!"
    assert inner.from_ == [Address("Kirk Douglas", "dan@example.com")]
    assert inner.message_id == "BANLkTinHZL1QMDHOv7Ewp+Z5u6SPvYcc+Q@mail.gmail.com"
    assert "чтобы я без вас делал" in inner.text  # base64 UTF-8 inside the enclosure


def test_endless_enclosure_stops_at_the_part_limit():
    # Not deep but wide: one enclosure holding ~3000 text/html alternatives.
    started = time.monotonic()
    msg = _corpus("flanker/enclosed-endless.eml")
    assert time.monotonic() - started < 10
    assert "more than 500 MIME parts; the rest was skipped" in msg.defects
    [inner] = msg.attached_messages
    assert inner.subject == "Thanks!" and inner.html.startswith("dudes... you&#39;re kicking ass.")
    assert "MIME part limit reached; remaining parts skipped" in inner.defects


def test_endless_enclosure_with_no_depth_allowed():
    msg = _corpus("flanker/enclosed-endless.eml", max_depth=0)
    assert msg.attached_messages == []
    assert "enclosed message nested deeper than 0 levels; not parsed" in msg.defects
    assert msg.text == "Hello\n"


def test_koi8r_and_latin_parts_of_cpython_corpus():
    # The corpus' koi8-r parts are empty: they become empty text/plain attachments.
    msg = _corpus("cpython/msg_08.txt")
    assert (msg.text, msg.html) == ("", "")
    assert [(a.content_type, a.content) for a in msg.attachments] == [("text/plain", b"")] * 2
    msg = _corpus("cpython/msg_10.txt")
    assert msg.text == "This is a 7bit encoded message.\n"
    assert msg.html == "\u00a1This is a Quoted Printable encoded message!\n"  # iso-8859-1 QP


def test_missing_final_boundary_keeps_the_body():
    msg = _corpus("flanker/missing-final-boundary.eml")
    assert msg.text == "Some body"
    assert "MIME: close boundary not found" in msg.defects
    assert [a.email for a in msg.to] == ["bob@example.com", "hithere@example.com"]


def test_raw_8bit_headers():
    msg = _corpus("flanker/mailformed-headers.eml")
    assert msg.from_ == [Address("Юникод запрещен\ufffd", "headers@gmail.com")]
    assert msg.date == datetime(2012, 7, 13, 12, 6, 49, tzinfo=UTC)


def test_header_values_are_capped():
    msg = _corpus("flanker/long-header.eml")
    assert msg.subject.startswith("Die heiße Zypernsonne quälte Max und Victoria")
    assert len(msg.subject) == 8192


def test_no_content_type_means_text_plain():
    msg = _corpus("flanker/no-ctype.eml")
    assert msg.text.startswith("Hello,\nI'm just testing message parsing")
    assert msg.attachments == [] and msg.defects == []


def test_content_hash_survives_relaying():
    raw = (corpus_dir() / "flanker/multi-received-headers.eml").read_bytes()
    original = parse_message(raw)
    # Another relay: no Received headers, CRLF line ends, an extra trace header.
    lines = raw.split(b"\n")
    kept, skipping = [], False
    for line in lines:
        if line.lower().startswith(b"received:"):
            skipping = True
            continue
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        kept.append(line)
    relayed = b"X-Relay: other\r\n" + b"\r\n".join(kept)
    assert relayed.count(b"Received:") == 0 < raw.count(b"Received:")
    assert parse_message(relayed).content_hash == original.content_hash
    changed = relayed.replace(b"Subject: Fwd:", b"Subject: Fwd: changed")
    assert parse_message(changed).content_hash != original.content_hash


# --- synthetic hostile input -----------------------------------------------------------

def _timed(raw: bytes, **limits) -> ParsedMessage:
    started = time.monotonic()
    msg = parse_message(raw, **limits)
    assert time.monotonic() - started < 20
    _check_shape(msg)
    return msg


def test_multipart_nesting_bomb():
    depth = 1000
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
                    for i in range(depth))
    tail = b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
    msg = _timed(b"From: a@example.com\nSubject: bomb\n" + head + b"Content-Type: text/plain\n\nhi\n" + tail)
    assert msg.from_ == [Address("", "a@example.com")] and msg.subject == "bomb"
    assert any("unreadable" in d or "nesting" in d for d in msg.defects), msg.defects


def test_enclosed_message_bomb():
    msg = _timed(b"From: a@example.com\nSubject: outer\n" + b"Content-Type: message/rfc822\n\n" * 1000
                 + b"Subject: inner\n\nhello\n")
    assert msg.subject == "outer" and msg.defects


def test_enclosed_messages_are_depth_limited():
    raw = b"Subject: level 0\n" + b"".join(
        b"Content-Type: message/rfc822\n\nSubject: level %d\n" % i for i in range(1, 51)) + b"\nend\n"
    msg = _timed(raw)
    chain = [msg]
    while chain[-1].attached_messages:
        chain.append(chain[-1].attached_messages[0])
    assert [m.subject for m in chain] == [f"level {i}" for i in range(6)]
    assert "enclosed message nested deeper than 5 levels; not parsed" in chain[-1].defects
    assert "enclosed message nested deeper than 5 levels; not parsed" in msg.defects
    assert len(_timed(raw, max_depth=2).attached_messages[0].attached_messages) == 1


def test_hundred_thousand_headers():
    raw = (b"From: a@example.com\n" + b"".join(b"X-Filler-%d: v\n" % i for i in range(100_000))
           + b"Subject: late\n\nbody\n")
    msg = _timed(raw)
    assert len(msg.headers) == 2000 and msg.headers[1] == ("X-Filler-0", "v")
    assert "100002 headers; only the first 2000 kept" in msg.defects
    assert msg.subject == "late" and msg.text == "body\n"
    assert len(_timed(raw, max_header_count=10).headers) == 10


def test_megabyte_single_line_and_body_cap():
    msg = _timed(b"From: a@example.com\n\n" + b"x" * 1_000_000)
    assert msg.text == "x" * 1_000_000 and msg.defects == []
    msg = _timed(b"Subject: " + b"y" * 1_000_000 + b"\n\n" + b"z" * 3_000_000)
    assert len(msg.text) == 2_000_000 and len(msg.subject) == 8192
    assert "text/plain body longer than 2000000 characters; truncated" in msg.defects


@pytest.mark.parametrize(("charset", "body", "expected"), [
    ("koi8-r", "Привет, мир".encode("koi8-r"), "Привет, мир"),
    ("x-unknown", "héllo".encode("latin-1"), "héllo"),  # not UTF-8: latin-1
    ("x-unknown", "héllo".encode("utf-8"), "héllo"),  # valid UTF-8 wins
    ("zlib", b"plain", "plain"),  # a codec, but not a text encoding
    ("us-ascii", "naïve".encode("utf-8"), "naïve"),  # mislabelled UTF-8
    ("us-ascii", "café".encode("cp1252"), "café"),  # mislabelled legacy 8-bit
    ("utf-8", b"bad \xff byte \xc3\xa9", "bad \ufffd byte é"),
])
def test_body_charsets(charset, body, expected):
    raw = b"Content-Type: text/plain; charset=" + charset.encode() + b"\n\n" + body
    assert _timed(raw).text == expected


def test_unknown_charset_is_reported():
    msg = _timed(b"Content-Type: text/plain; charset=x-unknown\n\nabc")
    assert msg.defects == ["unknown charset 'x-unknown'; decoded by guessing"]


def test_multipart_without_boundary_parameter():
    msg = _timed(b"Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n")
    assert "MIME: no boundary in multipart" in msg.defects
    assert "hi" in msg.text


def test_cve_2023_27043_address_is_refused():
    # The legacy parser reads this as two mailboxes, alice and bob; it is one broken one.
    msg = _timed(b"From: alice@example.org)<bob@example.org>\nReply-To: alice@example.org <bob@example.org>\n\nhi")
    assert msg.from_ == [] and msg.sender is None and msg.reply_to == []
    assert "From: refused unreadable address 'alice@example.org)<bob@example.org>'" in msg.defects
    assert any(d.startswith("Reply-to: refused") for d in msg.defects)


def test_address_lists_with_commas_groups_and_comments():
    msg = _timed(b'From: "Smith, Bob" <bob@example.org>\n'
                 b"To: undisclosed-recipients:;\n"
                 b'Cc: team: carol@example.org (Carol, Sales), "D" <d@example.org>;, e@example.org\n'
                 b"Sender: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\n\nhi")
    assert msg.from_ == [Address("Smith, Bob", "bob@example.org")]
    assert msg.to == [] and msg.defects == []
    assert msg.cc == [Address("Carol, Sales", "carol@example.org"), Address("D", "d@example.org"),
                      Address("", "e@example.org")]
    assert msg.sender_header == Address("Jürgen", "j@example.de")


def test_address_header_is_capped():
    msg = _timed(b"To: " + b"a@example.com, " * 2000 + b"\n\nhi")
    assert len(msg.to) == 500
    assert "To header has 2000 addresses; only 500 kept" in msg.defects


def test_ids_references_and_smartbcc_ref():
    refs = b" ".join(b"<r%d@example.com>" % i for i in range(300))
    msg = _timed(b"Message-ID:  < abc@example.com >\nIn-Reply-To: <p@example.com> (Bob's mail)\n"
                 b"References: " + refs + b"\nx-smartbcc-REF:   ref-123  \nDate: Tue, 10 Jul 2012 06:06:08 +0200\n\nhi")
    assert msg.message_id == "abc@example.com"
    assert msg.in_reply_to == ["p@example.com"]
    assert msg.references == [f"r{i}@example.com" for i in range(200, 300)]
    assert msg.smartbcc_ref == "ref-123"
    assert msg.date == datetime(2012, 7, 10, 4, 6, 8, tzinfo=UTC)
    assert _timed(b"X-SmartBcc-Ref: " + b"r" * 500 + b"\n\nhi").smartbcc_ref == "r" * 200


def test_dates():
    assert _timed(b"Date: Tue, 10 Jul 2012 06:06:08 -0000\n\n").date == datetime(2012, 7, 10, 6, 6, 8, tzinfo=UTC)
    msg = _timed(b"Date: Tue, 99 Foo 2012 99:06:08 +9999\n\n")
    assert msg.date is None and msg.defects == ["unreadable Date header 'Tue, 99 Foo 2012 99:06:08 +9999'"]


def test_subject_encoded_words_and_folding():
    msg = _timed(b"Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n =?utf-8?b?IGF1cyBLw7Zsbg==?=\r\n\tund mehr\r\n\r\nx")
    assert msg.subject == "Grüße aus Köln und mehr"
    assert _timed(b"Subject: =?x-bogus?q?caf=E9?=\n\n").subject == "café"
    assert _timed("Subject: Grüße\n\n".encode("latin-1")).subject == "Grüße"


def test_line_endings_do_not_matter():
    lf = (b"From: a@example.com\nSubject: s\nContent-Type: multipart/alternative; boundary=b\n\n"
          b"--b\nContent-Type: text/plain\n\nline 1\nline 2\n--b\nContent-Type: text/html\n\n<p>x</p>\n--b--\n")
    crlf = parse_message(lf.replace(b"\n", b"\r\n"))
    plain = parse_message(lf)
    assert (plain.text, plain.html) == ("line 1\nline 2", "<p>x</p>")
    assert (crlf.text, crlf.html, crlf.content_hash) == (plain.text, plain.html, plain.content_hash)


def test_html_only_leaves_text_empty():
    msg = _timed(b"Content-Type: text/html; charset=utf-8\n\n<b>hi</b>")
    assert msg.text is None and msg.html == "<b>hi</b>"


def test_attachments_inline_images_and_broken_base64():
    msg = _timed(b"Content-Type: multipart/related; boundary=x\n\n"
                 b"--x\nContent-Type: text/html\n\n<img src=cid:img1>\n"
                 b"--x\nContent-Type: image/png\nContent-ID: <img1@example.com>\n"
                 b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
                 b"--x\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
                 b"Content-Disposition: attachment; filename=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\n\nabcde\n"
                 b"--x\nContent-Type: text/plain\nContent-Disposition: attachment; filename*=utf-8''notes%E2%82%AC.txt\n\nn\n"
                 b"--x--\n")
    image, pdf, notes = msg.attachments
    assert (image.content_id, image.inline, image.content) == ("img1@example.com", True, b"\x89PNG\r\n\x1a\n")
    assert (pdf.filename, pdf.inline, pdf.content) == ("résumé.pdf", False, b"abcde")
    assert "undecodable base64 in a application/pdf part; raw payload kept" in msg.defects
    assert (notes.filename, notes.content) == ("notes€.txt", b"n")
    assert msg.text is None and msg.html == "<img src=cid:img1>"


def test_base64_encoded_enclosure_and_report_kinds():
    inner = base64.encodebytes(b"Subject: inner\nFrom: c@example.com\n\nbody inner\n")
    msg = _timed(b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + inner)
    assert [(m.subject, m.text) for m in msg.attached_messages] == [("inner", "body inner\n")]
    dsn = _timed(b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n"
                 b"--r\nContent-Type: text/plain\n\nfailed\n--r\nContent-Type: message/delivery-status\n\n"
                 b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; x@example.com\nAction: failed\n--r--\n")
    assert dsn.auto_kind == "bounce" and dsn.text == "failed"
    assert dsn.attachments[0].content_type == "message/delivery-status"
    assert b"Action: failed" in dsn.attachments[0].content


@pytest.mark.parametrize(("headers", "kind"), [
    (b"Auto-Submitted: auto-replied\n", "auto-reply"),
    (b"Auto-Submitted: no\n", None),
    (b"X-Autoreply: yes\n", "auto-reply"),
    (b"X-Autorespond: vacation\n", "auto-reply"),
    (b"Subject: Automatic reply: pricing\n", "auto-reply"),
    (b"Subject: Out of office next week, can we talk before?\n", None),
    (b"X-Auto-Response-Suppress: All\n", None),  # Outlook sets it on ordinary mail
    (b"Precedence: bulk\n", "bulk"),
    (b"Precedence: junk\n", "bulk"),
    (b"Precedence: first-class\n", None),
    (b"List-Id: <sales.example.com>\n", "bulk"),
    (b"List-Unsubscribe: <mailto:u@example.com>\n", None),  # sales tools add it to 1:1 mail
    (b"Precedence: bulk\nAuto-Submitted: auto-replied\n", "auto-reply"),  # vacation(1)
    (b"From: MAILER-DAEMON@example.com\nSubject: Undelivered Mail Returned to Sender\n", "bounce"),
    (b"From: postmaster@example.com\nSubject: Our new office address\n", None),
    (b"X-Failed-Recipients: x@example.com\n", "bounce"),
    (b"Content-Type: multipart/report; report-type=disposition-notification; boundary=z\n", "auto-reply"),
    (b"Content-Type: multipart/report; report-type=\"feedback-report\"; boundary=z\n", "complaint"),
])
def test_auto_kind(headers, kind):
    assert _timed(headers + b"\nbody\n").auto_kind == kind


def test_part_limit_is_configurable():
    raw = b"Content-Type: multipart/mixed; boundary=x\n\n" + b"--x\nContent-Type: image/gif\n\nG\n" * 10 + b"--x--\n"
    assert len(_timed(raw).attachments) == 10
    limited = _timed(raw, max_parts=4)
    assert len(limited.attachments) == 3  # the container counts as a part
    assert "more than 4 MIME parts; the rest was skipped" in limited.defects


def test_many_parts_finish_quickly():
    raw = (b"Content-Type: multipart/mixed; boundary=x\n\n"
           + b"--x\nContent-Type: text/plain; name=a\n\nhi\n" * 100_000 + b"--x--\n")
    msg = _timed(raw)
    assert len(msg.attachments) == 499 and any("legacy mode" in d for d in msg.defects)  # + container


def test_failing_header_registry_falls_back_to_raw_headers(monkeypatch):
    import backend.mail.policies as policies

    def broken(name, value):
        raise ValueError("registry bug")

    monkeypatch.setattr(policies, "_parsed_header", broken)
    msg = _corpus("flanker/attached-pdf.eml")
    assert "structured headers unreadable (ValueError); parsed in legacy mode" in msg.defects
    assert [a.filename for a in msg.attachments] == ["test.pdf"]
    assert msg.text.strip() == "Test - body content"


@pytest.mark.parametrize("value", [None, "", b"", "From: a@example.com\n\nstr input", bytearray(b"\x00" * 10),
                                   b"\r\n\r\n", b"From:\n\n", b"--\n--\n"])
def test_odd_inputs_do_not_raise(value):
    assert isinstance(parse_message(value), ParsedMessage)


# --- fuzzing ------------------------------------------------------------------------------

SMALL = [p for p in FILES if p.stat().st_size < 100_000]
HOSTILE = [b"\n", b"\r\n", b"--", b"=?utf-8?b?", b"?=", b"\x00", b"\xff\xfe", b"<", b">", b"(", b"\"",
           b"\nContent-Type: multipart/mixed; boundary=", b"\nContent-Type: message/rfc822\n\n",
           b"\nContent-Transfer-Encoding: base64\n", b"; charset=x-unknown", b"@", b",", b":;"]
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(raw):
    _check_shape(parse_message(raw))


@FUZZ
@given(st.sampled_from(SMALL), st.lists(st.tuples(st.sampled_from("flip insert delete cut"),
                                                  st.floats(0, 1), st.sampled_from(HOSTILE)), max_size=8))
def test_mutated_corpus_files(path, edits):
    raw = bytearray(path.read_bytes())
    for op, where, snippet in edits:
        at = int(where * len(raw))
        if op == "flip" and raw:
            raw[min(at, len(raw) - 1)] ^= 0xFF
        elif op == "insert":
            raw[at:at] = snippet
        elif op == "delete":
            del raw[at:at + 64]
        else:
            del raw[at:]
    _check_shape(parse_message(bytes(raw)))


TOKENS = list(' <>()",;:@\\=?[]_.-\tabcxyzAB\u00e9\u0416') + ["=?utf-8?q?", "=?x?b?", "?=", "\r\n ", "=C3"]
HEADER_TEXT = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["From", "To", "Cc", "Reply-To", "Sender", "Subject", "Date",
                                           "Message-ID", "References", "Content-Type", "Content-Disposition",
                                           "Content-Transfer-Encoding", "Auto-Submitted", "X-SmartBcc-Ref"]),
                          HEADER_TEXT), max_size=10), st.binary(max_size=300))
def test_random_structured_headers(headers, body):
    raw = b"".join(f"{name}: {value}\n".encode("utf-8") for name, value in headers) + b"\n" + body
    _check_shape(parse_message(raw))
