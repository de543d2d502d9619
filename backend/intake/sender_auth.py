"""Is the From: domain really the sender? DKIM alignment, or a trusted front MTA's Authentication-Results."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import dkim
import dns.exception
import dns.resolver

log = logging.getLogger(__name__)

POLICIES = ("off", "flag", "reject")
MAX_SIGNATURES = 5


@dataclass(frozen=True)
class AuthVerdict:
    verdict: str  # "pass", "fail" (no aligned pass), "none" (nothing to check), "temperror"
    method: str  # "dkim" or "authentication-results"
    detail: str

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed DMARC alignment, approximated without the public suffix list:
    one domain equals the other or is a subdomain of it."""
    d, f = signing_domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    return bool(d) and (d == f or f.endswith("." + d) or d.endswith("." + f)) and "." in d


def _txt_lookup(settings):
    resolver = None
    if settings.dns_resolver:
        host, _, port = settings.dns_resolver.rpartition(":")
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host or settings.dns_resolver]
        resolver.port = int(port) if host else 53
    else:
        resolver = dns.resolver.Resolver()

    def lookup(name: bytes, timeout: float = 5):
        try:
            answer = resolver.resolve(name.decode("ascii"), "TXT", lifetime=timeout)
        except (dns.exception.DNSException, UnicodeDecodeError):
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup


_AR_SPLIT = re.compile(r";\s*")
_RESULT = re.compile(r"^(dkim|dmarc)\s*=\s*(\w+)(.*)$", re.I | re.S)
_PROP = re.compile(r"header\.(d|i|from)\s*=\s*\"?([^\s;\"]+)", re.I)


def _from_authentication_results(headers: list[tuple[str, str]], from_domain: str,
                                 trusted: tuple) -> AuthVerdict | None:
    seen_trusted = False
    for name, value in headers:
        if name.lower() != "authentication-results":
            continue
        parts = _AR_SPLIT.split(value.strip())
        authserv = parts[0].split()[0].lower() if parts and parts[0].split() else ""
        if authserv not in trusted:
            continue  # anyone can write this header; only our own MTA's counts
        seen_trusted = True
        for part in parts[1:]:
            match = _RESULT.match(part.strip())
            if not match:
                continue
            method, result, rest = match.group(1).lower(), match.group(2).lower(), match.group(3)
            props = {k.lower(): v for k, v in _PROP.findall(rest)}
            domain = props.get("from") if method == "dmarc" else props.get("d") or props.get("i", "").split("@")[-1]
            if result == "pass" and domain and aligned(domain, from_domain):
                return AuthVerdict("pass", "authentication-results", f"{authserv}: {method}=pass for {domain}")
        return AuthVerdict("fail", "authentication-results",
                           f"{authserv} reports no aligned DKIM or DMARC pass for {from_domain}")
    return None if not seen_trusted else AuthVerdict("fail", "authentication-results", "no result")


def _header_pairs(raw: bytes) -> list[tuple[str, str]]:
    from email.parser import HeaderParser
    from email.policy import compat32

    end = min(i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n"), len(raw)) if i >= 0)
    msg = HeaderParser(policy=compat32).parsestr(raw[: min(end, 1 << 20)].decode("utf-8", "surrogateescape"))
    return [(k, str(v)) for k, v in list(msg.items())[:2000]]


def check_sender(raw: bytes, from_address: str, settings) -> AuthVerdict:
    """Never raises: a broken signature is a failed check, not an error."""
    try:
        headers = _header_pairs(raw)
    except Exception:
        return AuthVerdict("fail", "dkim", "header block unreadable")
    from_domain = from_address.rpartition("@")[2]
    if settings.trusted_authserv_ids:
        verdict = _from_authentication_results(headers, from_domain, settings.trusted_authserv_ids)
        if verdict is not None:
            return verdict
    signatures = [v for n, v in headers if n.lower() == "dkim-signature"][:MAX_SIGNATURES]
    if not signatures:
        return AuthVerdict("none", "dkim", f"no DKIM signature; {from_domain} cannot be verified")
    lookup = _txt_lookup(settings)
    checked = []
    for index in range(len(signatures)):
        try:
            signer = dkim.DKIM(raw, minkey=1024, timeout=5)
            ok = signer.verify(idx=index, dnsfunc=lookup)
            domain = (signer.domain or b"").decode("ascii", "replace")
        except Exception as exc:  # dkimpy raises many kinds for malformed input
            checked.append(f"signature {index + 1}: {exc.__class__.__name__}")
            continue
        if ok and aligned(domain, from_domain):
            return AuthVerdict("pass", "dkim", f"valid DKIM signature of {domain}, aligned with {from_domain}")
        checked.append(f"{domain or '?'}: {'valid but not aligned' if ok else 'invalid'}")
    return AuthVerdict("fail", "dkim", "; ".join(checked) or "no usable signature")
