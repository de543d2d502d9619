"""Long runs of base64 lines go past the feed parser as one line each and are put back after it.

Why: the standard library's feed parser handles every line in Python (a readline, a boundary test,
a list append). A 1 MB attachment is 18,000 lines: ~45 ms, thirty times the rest of a 20 KB mail
(bench/ingest.py sends one every 10th message). A line made only of the base64 alphabet can never
be a header (no colon, no leading blank), a boundary (no "-") or a blank line, so the parser does
nothing with a run of them but join them into the text of the part, preamble or epilogue they are
in. Such a run is fed to it as one line, a token, with the run's last line ending; the token is then
replaced by the run's text (without that line ending) wherever it ended up in the parsed tree.
The tree is then the one the parser builds from the bytes as they are (tests/mail/test_large_parts.py
compares the two on the corpus).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from email.message import Message

# Shorter runs are fed as they are: the token and its replacement would cost more than they save.
MIN_RUN = 8 * 1024
# Whole lines of the base64 alphabet (only "\n" ends a line here: a lone "\r", which the parser also
# takes as a line end, breaks a run, so a run never starts mid-line for it). Searched for after a
# "\n" (a literal the regex engine skips to quickly; "(?m)^" tries every position, 0.5 ms a 20 KB
# mail), or from the first line of what is scanned.
_LINES = rb"((?:[A-Za-z0-9+/=]+\r?\n)+)"
_RUN = re.compile(rb"\n" + _LINES)
_RUN_HERE = re.compile(_LINES)


class Runs:
    """The runs set aside while one message is fed, and the token that stands for each."""

    def __init__(self) -> None:
        # Random, so no mail can contain a token: "SmartBccRun<hex><n>Z", base64 alphabet only.
        self.prefix = "SmartBccRun" + secrets.token_hex(16)
        self.texts: list[str] = []

    def collapse(self, chunks: Callable[[], Iterable[bytes]]) -> Iterator[bytes]:
        """The bytes of ``chunks()`` with each run of at least MIN_RUN bytes replaced by a token line."""
        held: list[bytes] = []  # a run that reached the end of the lines scanned so far
        waiting: list[bytes] = []  # bytes after the last line end seen
        for chunk in chunks():
            end = chunk.rfind(b"\n") + 1
            if not end:
                waiting.append(chunk)
                continue
            lines = b"".join(waiting) + chunk[:end] if waiting else chunk[:end]
            waiting = [chunk[end:]] if end < len(chunk) else []
            yield from self._scan(lines, held)
        if held:
            yield self._close(held)
        yield b"".join(waiting)

    def _scan(self, lines: bytes, held: list[bytes]) -> Iterator[bytes]:
        """``lines`` (whole lines, from a line start) with their runs taken out; a run reaching
        their end stays in ``held``, as the next lines may go on with it."""
        pos = 0
        first = _RUN_HERE.match(lines)
        for match in chain([first] if first else [], _RUN.finditer(lines, first.end() if first else 0)):
            start, end = match.span(1)
            if end - start < MIN_RUN and end < len(lines) and not (start == 0 and held):
                continue  # short, and not going on from or into other lines: fed as it is, in one piece
            if start > pos:
                if held:
                    yield self._close(held)
                yield lines[pos:start]
            held.append(match.group(1))
            pos = end
            if pos < len(lines):
                yield self._close(held)
        if pos < len(lines):
            if held:
                yield self._close(held)
            yield lines[pos:]

    def _close(self, held: list[bytes]) -> bytes:
        run = b"".join(held)
        held.clear()
        if len(run) < MIN_RUN:
            return run
        ending = b"\r\n" if run.endswith(b"\r\n") else b"\n"
        self.texts.append(run[:-len(ending)].decode("ascii"))
        return f"{self.prefix}{len(self.texts) - 1}Z".encode("ascii") + ending

    def restore(self, msg: Message) -> Message:
        """Puts the runs back where their tokens are in ``msg``'s tree (payloads, preambles, epilogues)."""
        if not self.texts:
            return msg
        stack = [msg]  # explicit: the tree's depth must not become Python recursion
        while stack:
            part = stack.pop()
            for attr in ("preamble", "epilogue"):
                value = getattr(part, attr, None)
                if isinstance(value, str) and self.prefix in value:
                    setattr(part, attr, self._put_back(value))
            # The payload as the parser left it (get_payload() may re-decode 8-bit text).
            payload = part._payload  # noqa: SLF001
            if isinstance(payload, list):
                stack.extend(p for p in payload if isinstance(p, Message))
            elif isinstance(payload, str) and self.prefix in payload:
                part.set_payload(self._put_back(payload))
        self.texts = []
        return msg

    def _put_back(self, text: str) -> str:
        token = re.compile(re.escape(self.prefix) + r"(\d+)Z")  # only for a mail that had runs
        whole = token.fullmatch(text)
        if whole:  # the usual case, a part that is all one run: no copy of it
            return self.texts[int(whole.group(1))]
        return token.sub(lambda m: self.texts[int(m.group(1))], text)
