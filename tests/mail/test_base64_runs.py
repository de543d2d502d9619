"""Long base64 runs fed to the parser as tokens give the tree the parser builds from the bytes as they are."""
from __future__ import annotations

import base64
import random
from email.feedparser import BytesFeedParser

import pytest

from backend.mail import base64_runs
from backend.mail.base64_runs import Runs
from backend.mail.mime import parse_message
from backend.mail.policies import POLICY
from tests.corpus import corpus_files


def _tree(msg):
    """Everything the parser decided, part by part."""
    return [(part._headers, part.preamble, part.epilogue, [type(d).__name__ for d in part.defects],
             part._payload if isinstance(part._payload, str) else len(part._payload))
            for part in msg.walk()]


def _plain(raw: bytes):
    parser = BytesFeedParser(policy=POLICY)
    parser.feed(raw)
    return parser.close()


def _collapsed(raw: bytes, size: int):
    runs = Runs()
    parser = BytesFeedParser(policy=POLICY)
    for piece in runs.collapse(lambda: iter([raw[i:i + size] for i in range(0, len(raw), size)])):
        parser.feed(piece)
    return runs, runs.restore(parser.close())


_B64 = base64.encodebytes(random.Random(3).randbytes(30_000))


def _cases():
    for nl in (b"\r\n", b"\n"):
        body = _B64.replace(b"\n", nl)
        yield (b"Content-Type: multipart/mixed; boundary=XX" + nl + nl + body + b"--XX" + nl
               + b"Content-Type: application/pdf" + nl + b"Content-Transfer-Encoding: base64" + nl + nl
               + body + b"--XX--" + nl + body)                        # preamble, part, epilogue
        yield b"Subject: x" + nl + nl + body + body[:-1]             # last line without its end
        yield b"Subject: x" + nl + nl + body + b"not base64!" + nl + body  # two runs in one part
        yield body + b"Subject: x" + nl + nl + b"hi"                 # a run where headers belong
        yield (b"Content-Type: message/rfc822" + nl + nl + b"Subject: inner" + nl
               + b"Content-Transfer-Encoding: base64" + nl + nl + body)  # in an enclosed message
        yield (b"Content-Type: multipart/mixed; boundary=XX" + nl + nl + b"--XX" + nl + body
               + b"--XX--" + nl)                                      # a part without headers
    yield b"Subject: x\r\n\r\n" + _B64.replace(b"\n", b"\r") + b"\r\n" + _B64  # lone CRs end lines too


@pytest.mark.parametrize("raw", list(_cases()))
def test_the_tree_is_the_one_built_from_the_bytes_as_they_are(raw):
    expected = _tree(_plain(raw))
    for size in (5, 1000, 64 * 1024):  # slices cutting lines, line ends and runs apart
        runs, msg = _collapsed(raw, size)
        assert _tree(msg) == expected, size
    runs, _msg = _collapsed(raw, 64 * 1024)
    assert runs.prefix.encode() not in raw


def test_runs_are_taken_out_of_a_big_attachment_and_put_back():
    raw = (b"Subject: x\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + _B64.replace(b"\n", b"\r\n"))
    runs = Runs()
    fed = b"".join(runs.collapse(lambda: iter([raw])))
    assert len(fed) < 200 and fed.count(b"\r\n") == 5  # one line stands for 400
    assert parse_message(raw).attachments[0].content == base64.decodebytes(_B64)


def test_short_runs_are_fed_as_they_are():
    raw = b"Subject: x\r\n\r\n" + base64.encodebytes(b"x" * 600).replace(b"\n", b"\r\n")
    assert base64_runs.MIN_RUN > len(raw)
    assert b"".join(Runs().collapse(lambda: iter([raw]))) == raw


def test_the_corpus_parses_to_the_same_tree():
    files = corpus_files()
    assert len(files) > 50
    for path in files:
        raw = path.read_bytes()
        assert _tree(_collapsed(raw, 64 * 1024)[1]) == _tree(_plain(raw)), path
