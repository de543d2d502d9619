"""The aiosmtpd receiver for Smart Bcc addresses: precise replies, durable 250, database work off the loop.

Our own faults answer 451 (the sender's server retries), never 5xx: ``SmartBccHandler.handle_exception``
is aiosmtpd's hook for an exception raised while a command (EHLO, MAIL, RCPT, DATA, ...) runs.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, syntax

from .accept import accept_message
from .checks import Rejection, route_address, too_large, unknown_address
from .operator import operator_mailbox, store_operator_mail

log = logging.getLogger(__name__)

TEMPORARY_FAILURE = ("451 4.3.0 Smart Bcc had a problem on its side; your mail server will retry. "
                     "Nothing was lost.")
MIXED_RECIPIENTS = ("452 4.5.3 Mail to postmaster@ or abuse@ goes in a transaction of its own; "
                    "your mail server will send to this address separately.")


class SmartBccSMTP(SMTP):
    """aiosmtpd's protocol with our wording for the size limit and room for long lines."""

    def __init__(self, handler, *, data_size_limit: int, **kwargs):
        # Real clients send lines past the RFC's 998 and bare LFs (one long
        # "line" to a CRLF reader); the size limit, not the line length, bounds
        # memory. Set before SMTP.__init__ builds the stream reader with it.
        self.line_length_limit = data_size_limit + 1024
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """DATA read into one growing buffer: aiosmtpd keeps one bytes object per line,
        which for a 20 MB base64 attachment (270,000 lines) costs twice the message in
        object overhead alone."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        buffer, too_large, at_line_start, ended = bytearray(), False, True, False
        limit = self.data_size_limit or 0
        while self.transport is not None:
            try:
                # Only CRLF ends a line: a bare LF or CR never ends DATA (SMTP smuggling), so
                # "\n.\r\n", "\r.\r\n", "\r\n.\n" and "\r\n.\r" are all body text.
                line = await self._reader.readuntil(b"\r\n")
                complete = True
            except asyncio.LimitOverrunError as overrun:
                line, complete = await self._reader.read(overrun.consumed), False
            except asyncio.IncompleteReadError:
                break  # the client went away mid-DATA: there is no message
            except asyncio.CancelledError:
                self._writer.close()
                raise
            if at_line_start and line == b".\r\n":
                ended = True
                break
            if at_line_start and line.startswith(b"."):
                line = line[1:]  # dot-unstuffing (RFC 5321 4.5.2)
            at_line_start = complete
            if not too_large:
                if limit and len(buffer) + len(line) > limit:
                    too_large, buffer = True, bytearray()  # keep reading, stop keeping
                else:
                    buffer += line
        if not ended:
            # Only <CRLF>.<CRLF> ends a message; a cut-off one is never accepted.
            self._set_post_data_state()
            return
        if too_large:
            self._set_post_data_state()
            await self.push("552 Error: Too much mail data")
            return
        content = bytes(buffer)
        del buffer
        self.envelope.content = self.envelope.original_content = content
        try:
            status = await self._call_handler_hook("DATA")
        finally:
            # Also when the hook raises (answered by handle_exception): the next MAIL starts afresh.
            self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def push(self, status: str) -> None:
        # aiosmtpd words its own size replies; the sender should hear ours.
        # A DATA line past line_length_limit (> the size limit) means the message is too large.
        if status.startswith("552 Error:") or status.startswith("500 Line too long"):
            status = too_large(self.data_size_limit or 0).smtp_reply
        await super().push(status)


def rate_limited(services, sender: str | None, company_id: int | None) -> str | None:
    """The 451 reply when the sender or the company is over its limit, else None.

    Blocking (Redis): run it off the event loop. A limiter that fails (Redis down, a limit that
    does not parse) lets the mail through, logged: limits are a guard, not a gate.
    """
    from ..ratelimit import Limit

    settings = services.settings
    try:
        checks = [(f"smtp:sender:{(sender or '').lower()}", Limit.parse(settings.smtp_limit_per_sender))]
        if company_id is not None:
            checks.append((f"smtp:company:{company_id}", Limit.parse(settings.smtp_limit_per_company)))
        verdict = services.limiter.check_all(checks)
    except Exception:
        log.exception("SMTP rate limit check failed; the mail from %r is let through unlimited", sender)
        return None
    if verdict.allowed:
        return None
    return (f"451 4.7.1 Too many messages to Smart Bcc right now; "
            f"retry in {verdict.retry_after} seconds (your server will do so).")


ROUTE_CACHE_SECONDS = 30.0


class SmartBccHandler:
    def __init__(self, services):
        self.services = services
        self._routes: dict[str, tuple] = {}

    async def _db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's hook for an exception in any command (EHLO, MAIL, RCPT, DATA, ...): ours to retry."""
        log.error("SMTP command failed on our side; answered 451 so the sender retries", exc_info=error)
        return TEMPORARY_FAILURE

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mailbox = operator_mailbox(address, self.services.settings.mail_domain)
        if mailbox is not None:
            return await self._operator_rcpt(envelope, address, mailbox)
        if getattr(envelope, "operator_mailboxes", None):
            return MIXED_RECIPIENTS
        try:
            route = await self._db(self._route, address)
        except Exception:
            log.exception("RCPT lookup failed")
            return TEMPORARY_FAILURE
        if route is None:
            return unknown_address(address).smtp_reply
        refusal = await self._rate_check(envelope, route.company_id)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        if not hasattr(envelope, "routes"):
            envelope.routes = []
        envelope.routes.append(route)
        return "250 2.1.5 OK"

    async def _operator_rcpt(self, envelope, address, mailbox):
        """postmaster@ and abuse@ take mail from anyone (RFC 5321 4.5.1), in a transaction of their own."""
        if getattr(envelope, "routes", None):
            return MIXED_RECIPIENTS
        refusal = await self._rate_check(envelope, None)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        if not hasattr(envelope, "operator_mailboxes"):
            envelope.operator_mailboxes = []
        envelope.operator_mailboxes.append(mailbox)
        return "250 2.1.5 OK"

    async def _rate_check(self, envelope, company_id):
        """The refusal when the sender is over its limits; counted once per message, at its first
        good recipient (off the event loop, like the database work)."""
        if getattr(envelope, "rate_checked", False):
            return None
        refusal = await self._db(rate_limited, self.services, envelope.mail_from, company_id)
        if not refusal:
            envelope.rate_checked = True
        return refusal

    def _route(self, address):
        cached = self._routes.get(address.lower())
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        with self.services.db.session() as session:
            route = route_address(session, address, self.services.settings)
        if route is not None:
            # Positive answers only, briefly: the pipeline's route stage re-checks
            # the item anyway, and a new address is never refused by the cache.
            if len(self._routes) > 10_000:
                self._routes.clear()
            self._routes[address.lower()] = (route, time.monotonic() + ROUTE_CACHE_SECONDS)
        return route

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        if getattr(envelope, "operator_mailboxes", None):
            return await self._operator_data(raw, envelope)
        try:
            ids = await self._db(self._accept, raw, envelope)
        except Rejection as rejection:
            return rejection.smtp_reply
        except Exception:
            log.exception("accepting a message failed")
            return TEMPORARY_FAILURE
        return f"250 2.0.0 Logged by Smart Bcc (ref {','.join(map(str, ids))})"

    async def _operator_data(self, raw, envelope):
        try:
            ids = await self._db(store_operator_mail, self.services, raw, list(envelope.operator_mailboxes),
                                 envelope.mail_from)
        except Rejection as rejection:
            return rejection.smtp_reply
        except Exception:
            log.exception("storing mail to an operator mailbox failed")
            return TEMPORARY_FAILURE
        return f"250 2.0.0 Delivered to the operators of this Smart Bcc (ref op-{','.join(map(str, ids))})"

    def _accept(self, raw, envelope):
        return accept_message(self.services, raw, source="smtp",
                              envelope_from=envelope.mail_from,
                              routes=list(getattr(envelope, "routes", [])))


class SmartBccController(Controller):
    def __init__(self, services, hostname=None, port=None):
        settings = services.settings
        self.services = services
        super().__init__(
            SmartBccHandler(services),
            hostname=hostname or settings.smtp_host,
            port=port if port is not None else settings.smtp_port,
            server_hostname=settings.mail_domain,
            ready_timeout=10,
        )

    def factory(self):
        limit = self.services.settings.max_message_bytes
        smtp = SmartBccSMTP(
            self.handler,
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.services.settings.mail_domain,
            ident="Smart Bcc",
        )
        return smtp


def start_controller(services, hostname=None, port=None) -> SmartBccController:
    controller = SmartBccController(services, hostname=hostname, port=port)
    # The pipeline process (embedded default) is ready before the first mail: none waits for it to start.
    services.jobs.start_pipeline()
    controller.start()
    log.info("SMTP receiver on %s:%s", controller.hostname, controller.port)
    return controller


def run_forever(services) -> None:
    controller = start_controller(services)
    # With in-process jobs this process also finishes what a crash left behind.
    services.jobs.start_periodic()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()
        services.close()
