"""The Smart Bcc address format, kept in this one module: a company's universal address is
``<slug>@<mail_domain>`` and each deal or lead has ``<slug><sep>[<label>-]<kind><token>@<mail_domain>``,
where ``<sep>`` is ``+`` or ``.``, ``<kind>`` is ``d`` (deal) or ``l`` (lead), ``<token>`` is 16
lower-case base32 characters (80 random bits), and the optional ``<label>`` and the slug are ignored
when decoding, e.g. ``acme@bcc.example``, ``acme+dk5v2xq7m3a4b6c2d@bcc.example``,
``acme.big-renewal-lmfrggzdfmztwq2lk@bcc.example``. Either may end with ``<sep>private`` or ``<sep>shared``:
the rep's privacy choice for a new conversation (``acme+private@…``); untagged, the user's default."""
from __future__ import annotations

import base64
import functools
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Callable, Literal

__all__ = ["Decoded", "KINDS", "PRIVACY_TAGS", "MAX_ADDRESS_LENGTH", "RESERVED_LOCAL_PARTS", "SLUG_MAX_LENGTH",
           "TOKEN_LENGTH", "company_address", "decode", "is_reserved", "is_smartbcc_address", "is_valid_slug",
           "is_valid_token", "item_address", "new_item_token", "slug_for_domain", "unique_slug", "with_privacy"]

Kind = Literal["company", "deal", "lead"]
PRIVACY_TAGS: tuple[str, ...] = ("private", "shared")
# The one-letter tags, written only when the whole word would take the local part past 64
# characters (a deal address of a company whose slug is 39 or 40 characters long).
SHORT_PRIVACY_TAGS = {"private": "p", "shared": "s"}

SLUG_MAX_LENGTH = 40
FALLBACK_SLUG = "company"
# Appended to a derived slug that would otherwise be a reserved mailbox name.
RESERVED_SUFFIX = "-co"

# 10 random bytes are exactly 16 base32 characters, so there is never padding.
_TOKEN_BYTES = 10
TOKEN_LENGTH = 16
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

# Deal and lead tokens live in separate tables, so the kind letter is what
# tells the receiver which table to look the token up in.
KINDS: dict[str, str] = {"deal": "d", "lead": "l"}
_KIND_BY_CODE = {code: kind for kind, code in KINDS.items()}

# RFC 3696 errata / RFC 5321: 64 (local) + 1 + 255 (domain). Anything longer
# is not an address, and checking the length first keeps hostile input cheap.
MAX_ADDRESS_LENGTH = 320
# RFC 5321 local-part limit; only enforced on what we generate, because a
# human-written label may run longer and the token still identifies the item.
LOCAL_PART_MAX_LENGTH = 64

# Mailboxes that must reach the operators of the mail domain (RFC 2142, RFC
# 5321 postmaster, bounce/DMARC plumbing) or that the service sends from.
# A company may never own one of these as its universal address.
RESERVED_LOCAL_PARTS: frozenset[str] = frozenset({
    "abuse", "admin", "administrator", "bounce", "bounces", "daemon", "dmarc", "ftp", "help",
    "hostmaster", "info", "mailer-daemon", "marketing", "news", "noc", "nobody", "no-reply",
    "noreply", "postmaster", "root", "sales", "security", "support", "usenet", "uucp", "webmaster",
    "www"})

# Slugs are dot-free on purpose: "." doubles as the item separator.
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
_TOKEN_RE = re.compile(r"[a-z2-7]{16}", re.ASCII)
# The human-readable label is free text to the decoder, but limited to
# dot-atom characters so nothing needing quotes or escapes gets through.
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?", re.ASCII)
_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_NON_SLUG_CHARS = re.compile(r"[^a-z0-9]+", re.ASCII)
_ASCII_WHITESPACE = " \t\r\n\f\v"
_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})

# Letters that NFKD does not decompose into an ASCII base letter; without this
# table they would silently vanish ("straße" -> "strae").
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "ı": "i",
    }
)


@dataclass(frozen=True)
class Decoded:
    """What a Smart Bcc address points at (``token``: None for a company address; ``privacy``: its tag)."""

    kind: Kind
    slug: str
    token: str | None
    privacy: str | None = None


def is_reserved(local_part: str) -> bool:
    return local_part.lower() in RESERVED_LOCAL_PARTS


def is_valid_slug(slug: str) -> bool:
    """True for a canonical slug: lower-case ``[a-z0-9]`` runs joined by single dashes, at most 40 chars."""
    return (
        isinstance(slug, str)
        and len(slug) <= SLUG_MAX_LENGTH
        and _SLUG_RE.fullmatch(slug) is not None
    )


def is_valid_token(token: str) -> bool:
    return isinstance(token, str) and _TOKEN_RE.fullmatch(token) is not None


def _slugify(text: str, max_length: int) -> str:
    """Lower-case ``[a-z0-9-]`` with single inner dashes, at most ``max_length`` chars ("" if nothing is left)."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_TRANSLITERATE)
    # NFKD splits "ü" into "u" + combining mark; dropping non-ASCII then keeps the base letter.
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG_CHARS.sub("-", ascii_text).strip("-")
    # Cutting can leave a dash at the end ("abc-def" -> "abc-"), so strip again.
    return slug[:max_length].rstrip("-")


def _first_label_unicode(domain: str) -> str:
    """The first DNS label, with a punycode (``xn--``) label turned back into Unicode."""
    # 253 is the longest DNS name; the cap keeps pathological input cheap.
    domain = domain.strip(_ASCII_WHITESPACE)[:253].lower()
    # IDNA treats these as label separators too ("例え。jp" is "例え.jp").
    domain = domain.translate(_IDNA_DOTS).rstrip(".")
    label = domain.split(".", 1)[0]
    # Only real DNS-sized labels are decoded: punycode decoding is not linear
    # and any longer "label" is not a domain anyway.
    if label.startswith("xn--") and len(label) <= 63 and label.isascii():
        try:
            return label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            pass  # invalid punycode: fall through and slugify it as plain text
    return label


def slug_for_domain(domain: str) -> str:
    """The default slug for a company domain, derived from its first DNS label.

    ``"acme.example"`` -> ``"acme"``; ``"sub.acme.co.uk"`` -> ``"sub"`` (no
    public-suffix guessing, so the rule stays predictable). IDN labels are
    transliterated, and the Unicode and punycode spellings give the same slug:
    ``"bücher.example"`` and ``"xn--bcher-kva.example"`` -> ``"bucher"``. A
    label with no Latin letters falls back to the ASCII body of its punycode
    (``"例え.jp"`` -> ``"r8jz45g"``), and to ``"company"`` if nothing is left.
    Reserved mailbox names get ``"-co"`` appended (``"postmaster.com"`` ->
    ``"postmaster-co"``). Never raises for a ``str``; the result always passes
    ``is_valid_slug`` and is never reserved. Uniqueness is ``unique_slug``'s job.
    """
    label = _first_label_unicode(domain if isinstance(domain, str) else "")
    slug = _slugify(label, SLUG_MAX_LENGTH)
    if not slug and not label.isascii():
        # Non-Latin scripts transliterate to nothing; the punycode body is
        # still distinctive, unlike "company" which would collide constantly.
        try:
            slug = _slugify(label.encode("punycode").decode("ascii"), SLUG_MAX_LENGTH)
        except (UnicodeError, ValueError):
            slug = ""
    if not slug:
        slug = FALLBACK_SLUG
    if is_reserved(slug):
        slug = slug[: SLUG_MAX_LENGTH - len(RESERVED_SUFFIX)].rstrip("-") + RESERVED_SUFFIX
    return slug


# A safety stop so that a broken ``taken`` (always True) fails loudly
# instead of looping forever inside a request.
_UNIQUE_SLUG_ATTEMPTS = 10_000


def unique_slug(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, else ``base-2``, ``base-3``, ... : the first that is not ``taken`` and not reserved.

    The base is shortened when needed so every candidate stays within 40
    characters. Raises ValueError for a base that is not a valid slug, and
    RuntimeError if 10,000 candidates are all taken.
    """
    if not is_valid_slug(base):
        raise ValueError(f"not a valid slug: {base!r}")
    for n in range(1, _UNIQUE_SLUG_ATTEMPTS + 1):
        if n == 1:
            candidate = base
        else:
            suffix = f"-{n}"
            candidate = base[: SLUG_MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        # Reserved names count as taken so that a hand-picked base can't
        # claim postmaster@ and friends.
        if not is_reserved(candidate) and not taken(candidate):
            return candidate
    raise RuntimeError(f"no free slug for {base!r} after {_UNIQUE_SLUG_ATTEMPTS} attempts")


def new_item_token() -> str:
    """16 lower-case base32 characters (``[a-z2-7]``) from ``secrets``: 80 bits, unguessable."""
    return base64.b32encode(secrets.token_bytes(_TOKEN_BYTES)).decode("ascii").lower()


@functools.lru_cache(maxsize=32)
def _normalize_mail_domain(mail_domain: str) -> str:
    """The configured mail domain in the form addresses are compared with: lower-case ASCII, no trailing dot."""
    if not isinstance(mail_domain, str):
        raise ValueError(f"mail domain must be a string, got {type(mail_domain).__name__}")
    domain = mail_domain.strip(_ASCII_WHITESPACE).lower()
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain.isascii():
        # An IDN mail domain is compared in its punycode form, which is what
        # arrives in RCPT TO unless the sender uses SMTPUTF8.
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"invalid mail domain: {mail_domain!r}") from exc
    labels = domain.split(".")
    if len(domain) > 253 or not all(_DNS_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"invalid mail domain: {mail_domain!r}")
    return domain


def company_address(slug: str, mail_domain: str) -> str:
    """``<slug>@<mail_domain>``; raises ValueError for an invalid or reserved slug."""
    if not is_valid_slug(slug):
        raise ValueError(f"not a valid slug: {slug!r}")
    if is_reserved(slug):
        raise ValueError(f"reserved local part cannot be a company address: {slug!r}")
    return f"{slug}@{_normalize_mail_domain(mail_domain)}"


def item_address(
    slug: str,
    kind: str,
    token: str,
    mail_domain: str,
    *,
    label: str | None = None,
) -> str:
    """``<slug>+[<label>-]<d|l><token>@<mail_domain>`` for a deal or lead.

    ``label`` is optional free text (e.g. the deal title) that is slugified and
    shortened so the local part stays within 64 characters, or left out if
    there is no room. Raises ValueError for an unknown kind, an invalid slug
    or a token that is not 16 lower-case base32 characters.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    if not is_valid_slug(slug):
        raise ValueError(f"not a valid slug: {slug!r}")
    if not is_valid_token(token):
        raise ValueError(f"not a valid item token: {token!r}")
    tag = KINDS[kind] + token
    if label:
        # "+" and "-" around the label take two characters.
        room = LOCAL_PART_MAX_LENGTH - len(slug) - 1 - len(tag) - 1
        human = _slugify(label, room) if room > 0 else ""
        if human:
            tag = f"{human}-{tag}"
    return f"{slug}+{tag}@{_normalize_mail_domain(mail_domain)}"


def _strip_wrapping(address: str) -> str:
    address = address.strip(_ASCII_WHITESPACE)
    # Envelope paths arrive as "<addr>"; only one balanced pair is removed.
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip(_ASCII_WHITESPACE)
    return address


def _split_privacy(local: str) -> tuple[str, str | None]:
    # Unambiguous: a slug has neither "+" nor ".", and an item tag ends with its token.
    for privacy in PRIVACY_TAGS:
        for tag in (privacy, SHORT_PRIVACY_TAGS[privacy]):
            if local[-len(tag) - 1:] in (f"+{tag}", f".{tag}"):
                return local[: -len(tag) - 1], privacy
    return local, None


def _decode_local_part(local: str) -> Decoded | None:
    local, privacy = _split_privacy(local)
    decoded = _decode_untagged(local)
    return Decoded(decoded.kind, decoded.slug, decoded.token, privacy) if decoded and privacy else decoded


def _decode_untagged(local: str) -> Decoded | None:
    # Slugs never contain "+" or ".", so the first of either ends the slug.
    plus, dot = local.find("+"), local.find(".")
    cut = min(i for i in (plus, dot, len(local)) if i >= 0)
    slug, tag = local[:cut], local[cut + 1 :]
    if not is_valid_slug(slug):
        return None
    if cut == len(local):
        # Reserved names belong to the domain's operators, never to a company.
        if is_reserved(slug):
            return None
        return Decoded("company", slug, None)
    # The kind letter and token are the last 17 characters; anything before
    # them is the optional human label, which must end with "-".
    if len(tag) < 1 + TOKEN_LENGTH:
        return None
    head, code, token = tag[: -TOKEN_LENGTH - 1], tag[-TOKEN_LENGTH - 1], tag[-TOKEN_LENGTH:]
    kind = _KIND_BY_CODE.get(code)
    if kind is None or not is_valid_token(token):
        return None
    if head and not (head.endswith("-") and _LABEL_RE.fullmatch(head[:-1])):
        return None
    # The slug is reported but not checked against reserved names: item
    # addresses are found by token, so they must survive slug rules changing.
    return Decoded(kind, slug, token)


def decode(address: str, mail_domain: str) -> Decoded | None:
    """What a bare address means, or None if it is not a Smart Bcc address of ``mail_domain``.

    Tolerates surrounding whitespace, one pair of angle brackets, any letter
    case and one trailing dot on the domain; accepts ``+`` or ``.`` as the
    separator. Returns None, and never raises, for anything else: other
    domains (including subdomains and look-alikes), display-name forms,
    quoted or non-ASCII local parts, control characters, bad tokens or
    input over 320 characters. Only an invalid ``mail_domain`` (a
    configuration error) raises ValueError.
    """
    domain_wanted = _normalize_mail_domain(mail_domain)
    if not isinstance(address, str) or len(address) > MAX_ADDRESS_LENGTH:
        return None
    address = _strip_wrapping(address)
    # Non-ASCII (SMTPUTF8) addresses are rejected outright: comparing Unicode
    # forms would invite homoglyph look-alikes of the mail domain.
    if not address.isascii():
        return None
    # No spaces, controls or DEL anywhere inside a bare address. The grammar
    # below excludes them too; rejecting them up front keeps header-injection
    # shapes out even if the label grammar is ever loosened.
    if any(ch <= " " or ch == "\x7f" for ch in address):
        return None
    address = address.lower()
    if address.count("@") != 1:
        return None
    local, domain = address.split("@")
    if domain.endswith("."):
        domain = domain[:-1]
    # Exact comparison: "sub.bcc.example" and "evilbcc.example" are not ours.
    if domain != domain_wanted or not local:
        return None
    return _decode_local_part(local)


def is_smartbcc_address(address: str, mail_domain: str) -> bool:
    return decode(address, mail_domain) is not None


def with_privacy(address: str, privacy: str | None, mail_domain: str) -> str:
    """The Smart Bcc ``address`` tagged "private" or "shared", or untagged for None, the rest kept
    as written. Raises ValueError for an unknown tag or an address that is not ours."""
    if (privacy is not None and privacy not in PRIVACY_TAGS) or decode(address, mail_domain) is None:
        raise ValueError(f"cannot tag {address!r} with privacy {privacy!r}")
    local, domain = _strip_wrapping(address).lower().split("@")
    local = _split_privacy(local)[0]
    if privacy:
        # The word if it fits within RFC 5321's 64 characters, else its letter; a label typed into
        # the address is dropped if even that does not fit (the token still names the item).
        for tagged in (f"{local}+{privacy}", f"{local}+{SHORT_PRIVACY_TAGS[privacy]}",
                       f"{_without_label(local)}+{SHORT_PRIVACY_TAGS[privacy]}"):
            if len(tagged) <= LOCAL_PART_MAX_LENGTH:
                break
        local = tagged
    return f"{local}@{domain.rstrip('.')}"


def _without_label(local: str) -> str:
    """An item address's local part without the human label before its kind letter and token."""
    cut = min(i for i in (local.find("+"), local.find("."), len(local)) if i >= 0)
    tag = local[cut + 1:]
    return local if len(tag) <= 1 + TOKEN_LENGTH else f"{local[:cut + 1]}{tag[-TOKEN_LENGTH - 1:]}"
