"""Tests for the Smart Bcc address format in backend.addresses."""
from __future__ import annotations

import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend import addresses
from backend.addresses import (
    MAX_ADDRESS_LENGTH,
    RESERVED_LOCAL_PARTS,
    SLUG_MAX_LENGTH,
    Decoded,
    company_address,
    decode,
    is_smartbcc_address,
    is_valid_slug,
    item_address,
    new_item_token,
    slug_for_domain,
    unique_slug,
)

DOMAIN = "bcc.example"
TOKEN = "k5v2xq7m3a4b6c2d"  # 16 chars of [a-z2-7]
OTHER_TOKEN = "mfrggzdfmztwq2lk"

slugs = st.from_regex(r"\A[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,4}\Z").filter(
    lambda s: len(s) <= SLUG_MAX_LENGTH
)
tokens = st.from_regex(r"\A[a-z2-7]{16}\Z")
item_kinds = st.sampled_from(["deal", "lead"])


# --- slug derivation -------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "slug"),
    [
        ("acme.example", "acme"),
        ("ACME.Example", "acme"),
        ("acme.example.", "acme"),
        ("  acme.example\n", "acme"),
        ("acme", "acme"),
        ("sub.acme.co.uk", "sub"),  # first label, no public-suffix guessing
        ("my_company.io", "my-company"),
        ("foo--bar.com", "foo-bar"),
        ("-acme-.com", "acme"),
        ("123.com", "123"),
        ("bücher.example", "bucher"),
        ("xn--bcher-kva.example", "bucher"),  # same slug as its Unicode spelling
        ("BÜCHER.example", "bucher"),
        ("straße.de", "strasse"),
        ("Ærø.dk", "aero"),
        ("ｂｃｃ.example", "bcc"),  # full-width letters
        ("例え.jp", "r8jz45g"),  # no Latin letters: punycode body
        ("xn--r8jz45g.jp", "r8jz45g"),
        ("例え。jp", "r8jz45g"),  # ideographic full stop separates labels
        ("xn--zz.com", "xn-zz"),  # invalid punycode: slugified as plain text
        ("", "company"),
        ("...", "company"),
        ("---.com", "company"),
        ("a" * 63 + ".com", "a" * SLUG_MAX_LENGTH),
        ("a" * 39 + "-b.com", "a" * 39),  # cut must not leave a trailing dash
    ],
)
def test_slug_for_domain_table(domain, slug):
    assert slug_for_domain(domain) == slug


@pytest.mark.parametrize("reserved", ["postmaster", "abuse", "mailer-daemon", "noreply", "no-reply", "www"])
def test_slug_for_domain_avoids_reserved_local_parts(reserved):
    slug = slug_for_domain(f"{reserved}.com")
    assert slug == f"{reserved}-co"
    assert slug not in RESERVED_LOCAL_PARTS


def test_reserved_suffix_keeps_long_slug_within_limit(monkeypatch):
    # Real reserved words are short, so check the cut with a long made-up one.
    long_reserved = "x" * SLUG_MAX_LENGTH
    monkeypatch.setattr(addresses, "RESERVED_LOCAL_PARTS", RESERVED_LOCAL_PARTS | {long_reserved})
    slug = slug_for_domain(long_reserved + ".com")
    assert slug.endswith("-co")
    assert len(slug) <= SLUG_MAX_LENGTH
    assert is_valid_slug(slug)


@settings(max_examples=500)
@given(st.text())
def test_slug_for_domain_always_gives_a_valid_unreserved_slug(domain):
    slug = slug_for_domain(domain)
    assert is_valid_slug(slug)
    assert "." not in slug and "+" not in slug
    assert slug not in RESERVED_LOCAL_PARTS


# --- unique_slug -----------------------------------------------------------


def test_unique_slug_returns_base_when_free():
    assert unique_slug("acme", lambda s: False) == "acme"


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        ({"acme"}, "acme-2"),
        ({"acme", "acme-2"}, "acme-3"),
        ({"acme", "acme-2", "acme-3"}, "acme-4"),
        ({"acme", "acme-3"}, "acme-2"),
    ],
)
def test_unique_slug_counts_up_past_collisions(taken, expected):
    assert unique_slug("acme", taken.__contains__) == expected


def test_unique_slug_shortens_a_long_base_to_fit_the_suffix():
    base = "a" * SLUG_MAX_LENGTH
    result = unique_slug(base, {base}.__contains__)
    assert result == "a" * (SLUG_MAX_LENGTH - 2) + "-2"
    assert is_valid_slug(result)


def test_unique_slug_shortening_does_not_leave_a_double_dash():
    base = "a" * 37 + "-bc"  # cutting to 38 chars ends on the dash
    result = unique_slug(base, {base}.__contains__)
    assert result == "a" * 37 + "-2"
    assert is_valid_slug(result)


def test_unique_slug_treats_reserved_names_as_taken():
    assert unique_slug("abuse", lambda s: False) == "abuse-2"


@pytest.mark.parametrize("bad", ["", "Acme", "acme.co", "acme+x", "-acme", "acme--x", "a" * 41])
def test_unique_slug_rejects_invalid_base(bad):
    with pytest.raises(ValueError):
        unique_slug(bad, lambda s: False)


def test_unique_slug_gives_up_instead_of_looping_forever():
    with pytest.raises(RuntimeError):
        unique_slug("acme", lambda s: True)


# --- tokens ----------------------------------------------------------------


def test_token_is_16_lowercase_base32_chars_worth_80_bits():
    token = new_item_token()
    assert len(token) == 16
    assert set(token) <= set(string.ascii_lowercase + "234567")
    assert len(token) * 5 >= 64


def test_ten_thousand_tokens_are_all_distinct():
    tokens_seen = [new_item_token() for _ in range(10_000)]
    assert len(set(tokens_seen)) == 10_000
    assert all(len(t) == 16 and set(t) <= set(string.ascii_lowercase + "234567") for t in tokens_seen)


def test_tokens_use_the_whole_base32_alphabet_evenly():
    # A generator drawing from fewer symbols (e.g. hex) would have less entropy per char.
    counts = Counter("".join(new_item_token() for _ in range(2_000)))
    assert set(counts) == set(string.ascii_lowercase + "234567")
    expected = 2_000 * 16 / 32  # 1000 per symbol
    assert all(0.8 * expected < n < 1.2 * expected for n in counts.values())


def test_token_comes_from_secrets(monkeypatch):
    monkeypatch.setattr(addresses.secrets, "token_bytes", lambda n: b"\x00" * n)
    assert new_item_token() == "a" * 16


# --- building addresses ----------------------------------------------------


def test_company_address_format():
    assert company_address("acme", DOMAIN) == "acme@bcc.example"


def test_item_address_format():
    assert item_address("acme", "deal", TOKEN, DOMAIN) == f"acme+d{TOKEN}@bcc.example"
    assert item_address("acme", "lead", TOKEN, DOMAIN) == f"acme+l{TOKEN}@bcc.example"


def test_item_address_label_is_slugified_before_the_token():
    address = item_address("acme", "deal", TOKEN, DOMAIN, label="Big Contract, 2025!")
    assert address == f"acme+big-contract-2025-d{TOKEN}@bcc.example"


def test_item_address_keeps_local_part_within_64_chars():
    address = item_address("a" * SLUG_MAX_LENGTH, "deal", TOKEN, DOMAIN, label="x" * 200)
    local = address.split("@")[0]
    assert len(local) == 64
    assert decode(address, DOMAIN) == Decoded("deal", "a" * SLUG_MAX_LENGTH, TOKEN)


def test_item_address_drops_label_when_there_is_no_room(monkeypatch):
    monkeypatch.setattr(addresses, "LOCAL_PART_MAX_LENGTH", SLUG_MAX_LENGTH + 1 + 17)
    address = item_address("a" * SLUG_MAX_LENGTH, "deal", TOKEN, DOMAIN, label="big")
    assert address == "a" * SLUG_MAX_LENGTH + f"+d{TOKEN}@bcc.example"


def test_builders_normalize_the_mail_domain():
    assert company_address("acme", " BCC.Example. ") == "acme@bcc.example"
    assert item_address("acme", "deal", TOKEN, "bücher.example").endswith("@xn--bcher-kva.example")


@pytest.mark.parametrize(
    ("slug", "kind", "token"),
    [
        ("acme", "project", TOKEN),
        ("acme", "company", TOKEN),
        ("acme.co", "deal", TOKEN),
        ("Acme", "deal", TOKEN),
        ("", "deal", TOKEN),
        ("acme", "deal", TOKEN.upper()),
        ("acme", "deal", TOKEN[:-1]),
        ("acme", "deal", TOKEN + "a"),
        ("acme", "deal", "0" * 16),
    ],
)
def test_item_address_rejects_bad_arguments(slug, kind, token):
    with pytest.raises(ValueError):
        item_address(slug, kind, token, DOMAIN)


@pytest.mark.parametrize("slug", ["postmaster", "acme.co", "", "ACME"])
def test_company_address_rejects_reserved_or_invalid_slugs(slug):
    with pytest.raises(ValueError):
        company_address(slug, DOMAIN)


@pytest.mark.parametrize("mail_domain", ["", "bcc..example", "-bcc.example", "bcc_x.example", "a@b"])
def test_invalid_mail_domain_is_a_configuration_error(mail_domain):
    with pytest.raises(ValueError):
        decode("acme@bcc.example", mail_domain)


# --- decoding: round trips ---------------------------------------------------


def test_company_address_decodes():
    assert decode("acme@bcc.example", DOMAIN) == Decoded("company", "acme", None)


@pytest.mark.parametrize("kind", ["deal", "lead"])
@pytest.mark.parametrize("slug", ["acme", "a", "acme-2", "x1-y2-z3", "9" * SLUG_MAX_LENGTH])
def test_item_address_round_trips(slug, kind):
    address = item_address(slug, kind, TOKEN, DOMAIN)
    assert decode(address, DOMAIN) == Decoded(kind, slug, TOKEN)


def test_dot_separator_decodes_like_plus():
    plus = item_address("acme", "deal", TOKEN, DOMAIN)
    dot = plus.replace("+", ".")
    assert dot == f"acme.d{TOKEN}@bcc.example"
    assert decode(dot, DOMAIN) == decode(plus, DOMAIN) == Decoded("deal", "acme", TOKEN)


def test_decoding_is_case_insensitive():
    address = item_address("acme-2", "lead", TOKEN, DOMAIN)
    assert decode(address.upper(), DOMAIN) == Decoded("lead", "acme-2", TOKEN)
    assert decode("AcMe@BcC.ExAmPlE", DOMAIN) == Decoded("company", "acme", None)
    assert decode("acme@bcc.example", "BCC.EXAMPLE") == Decoded("company", "acme", None)


def test_item_token_survives_a_slug_change():
    # The token alone identifies the item; the slug part is only for humans.
    old = item_address("oldname", "deal", TOKEN, DOMAIN)
    new = item_address("newname", "deal", TOKEN, DOMAIN)
    assert decode(old, DOMAIN).token == decode(new, DOMAIN).token == TOKEN
    assert decode(f"postmaster+d{TOKEN}@bcc.example", DOMAIN) == Decoded("deal", "postmaster", TOKEN)


@pytest.mark.parametrize(
    "local",
    [
        f"acme+big-contract-d{TOKEN}",
        f"acme.big-contract-d{TOKEN}",
        f"acme+deal-d{TOKEN}",
        f"acme+x-d{TOKEN}",
        f"acme+q3.renewal_v2-d{TOKEN}",
        f"acme+{OTHER_TOKEN}-d{TOKEN}",  # a label that looks like a token is still a label
        f"acme+very-long-label-written-by-a-human-far-beyond-sixty-four-chars-d{TOKEN}",
    ],
)
def test_human_readable_label_is_ignored(local):
    assert decode(f"{local}@bcc.example", DOMAIN) == Decoded("deal", "acme", TOKEN)


def test_label_does_not_change_what_the_address_decodes_to():
    with_label = item_address("acme", "lead", TOKEN, DOMAIN, label="Globex renewal")
    without = item_address("acme", "lead", TOKEN, DOMAIN)
    assert with_label != without
    assert decode(with_label, DOMAIN) == decode(without, DOMAIN)


@pytest.mark.parametrize(
    "wrapped",
    [
        "  acme+d{t}@bcc.example  ",
        "\tacme+d{t}@bcc.example\r\n",
        "<acme+d{t}@bcc.example>",
        " < acme+d{t}@bcc.example > ",
        "acme+d{t}@bcc.example.",
        "<ACME+D{T}@BCC.EXAMPLE.>",
    ],
)
def test_tolerated_wrapping_decodes(wrapped):
    address = wrapped.replace("{t}", TOKEN).replace("{T}", TOKEN.upper())
    assert decode(address, DOMAIN) == Decoded("deal", "acme", TOKEN)


def test_configured_domain_with_trailing_dot_matches():
    assert decode("acme@bcc.example", "bcc.example.") == Decoded("company", "acme", None)


def test_idn_mail_domain_matches_its_punycode_form():
    assert decode("acme@xn--bcher-kva.example", "bücher.example") == Decoded("company", "acme", None)


@settings(max_examples=300)
@given(
    slug=slugs,
    kind=item_kinds,
    token=tokens,
    sep=st.sampled_from(["+", "."]),
    upper=st.booleans(),
    label=st.one_of(st.none(), st.text(max_size=80)),
)
def test_round_trip_property(slug, kind, token, sep, upper, label):
    address = item_address(slug, kind, token, DOMAIN, label=label)
    assert len(address.split("@")[0]) <= 64
    address = address.replace("+", sep, 1)
    if upper:
        address = address.upper()
    assert decode(address, DOMAIN) == Decoded(kind, slug, token)
    assert is_smartbcc_address(address, DOMAIN)


@given(slug=slugs.filter(lambda s: s not in RESERVED_LOCAL_PARTS))
def test_company_round_trip_property(slug):
    assert decode(company_address(slug, DOMAIN), DOMAIN) == Decoded("company", slug, None)


# --- decoding: hostile and malformed input ---------------------------------

HOSTILE = [
    "",
    "   ",
    "<>",
    "@bcc.example",
    "acme@",
    "acme",
    "acme@@bcc.example",
    "acme@evil@bcc.example",
    "@relay.example:acme@bcc.example",  # source route
    '"acme"@bcc.example',
    f'"acme+d{TOKEN}"@bcc.example',
    '"ac me"@bcc.example',
    "Acme Sales <acme@bcc.example>",  # display-name form: bare addresses only
    "acme@bcc.example>",
    "<acme@bcc.example",
    "<<acme@bcc.example>>",
    "acme@[127.0.0.1]",
    # wrong domain
    "acme@other.example",
    "acme@bcc.example..",
    "acme@.bcc.example",
    # slug part
    "postmaster@bcc.example",
    "abuse@bcc.example",
    "MAILER-DAEMON@bcc.example",
    "noreply@bcc.example",
    "acme_corp@bcc.example",
    "-acme@bcc.example",
    "acme-@bcc.example",
    "acme--corp@bcc.example",
    "a" * (SLUG_MAX_LENGTH + 1) + "@bcc.example",
    f"+d{TOKEN}@bcc.example",
    f".d{TOKEN}@bcc.example",
    f"ac!me+d{TOKEN}@bcc.example",
    # token part
    "acme+@bcc.example",
    "acme.@bcc.example",
    "acme+d@bcc.example",
    f"acme+d{TOKEN[:-1]}@bcc.example",
    f"acme+d{TOKEN}a@bcc.example",  # 17 chars: the last 16 are not kind+token aligned
    f"acme+x{TOKEN}@bcc.example",
    f"acme+c{TOKEN}@bcc.example",
    f"acme+{TOKEN}@bcc.example",
    "acme+d" + "0" * 16 + "@bcc.example",
    "acme+d" + "1" * 16 + "@bcc.example",
    "acme+d" + "8" * 16 + "@bcc.example",
    f"acme+d{TOKEN[:-1]}!@bcc.example",
    f"acme+d{TOKEN[:-1]}=@bcc.example",
    f"acme+-d{TOKEN}@bcc.example",
    f"acme+big-d{TOKEN}x@bcc.example",
    f"acme+bigd{TOKEN}@bcc.example",  # label must be followed by "-"
    f"acme+big--d{TOKEN}@bcc.example",
    f"acme+-big-d{TOKEN}@bcc.example",
    f"acme+big!-d{TOKEN}@bcc.example",
    f"acme+big+x-d{TOKEN}@bcc.example",
    # non-ASCII, control characters
    "bücher@bcc.example",
    f"acme+d{TOKEN[:-1]}é@bcc.example",
    "acme@bcc.examplé",
    "acme\x00@bcc.example",
    "ac\tme@bcc.example",
    "ac me@bcc.example",
    "acme\x7f@bcc.example",
    "acme@bcc.example\r\nRCPT TO:<victim@bcc.example>",
    "acme@bcc.example\x00",
    "acme\u200b@bcc.example",  # zero-width space
    "\u212a@bcc.example",  # Kelvin sign: lower() turns it into ASCII "k"
    "acme+d" + TOKEN.replace("k", "\u212a") + "@bcc.example",
    "acme@bcc.exam\u00adple",  # soft hyphen
    # absurd length
    "a" * 10_000 + "@bcc.example",
    "<" * 5_000 + "acme@bcc.example" + ">" * 5_000,
    "acme+" + "a-" * 200_000 + f"d{TOKEN}@bcc.example",
]


@pytest.mark.parametrize("address", HOSTILE, ids=lambda a: repr(a[:40]))
def test_hostile_inputs_return_none(address):
    assert decode(address, DOMAIN) is None
    assert is_smartbcc_address(address, DOMAIN) is False


@pytest.mark.parametrize("value", [None, b"acme@bcc.example", 42, ["acme@bcc.example"]])
def test_non_string_input_returns_none(value):
    assert decode(value, DOMAIN) is None


def test_length_limit_is_exactly_320_characters():
    def padded(total: int) -> str:
        # Grow the (ignored) label until the whole address has `total` chars.
        fixed = len(f"acme+-d{TOKEN}@bcc.example")
        return f"acme+{'x' * (total - fixed)}-d{TOKEN}@bcc.example"

    # 320 = 64 (local part) + 1 + 255 (domain); spelled out so the test pins the number.
    assert MAX_ADDRESS_LENGTH == 320
    assert len(padded(320)) == 320
    assert decode(padded(320), DOMAIN) == Decoded("deal", "acme", TOKEN)
    assert decode(padded(321), DOMAIN) is None


@pytest.mark.parametrize(
    "domain",
    [
        "evilbcc.example",
        "xbcc.example",
        "sub.bcc.example",
        "bcc.bcc.example",
        "bcc.example.evil.com",
        "bcc.examplex",
        "bcc.exampl",
        "bcc-example",
        "bccexample",
        "bcc.examp1e",
        "bcc.example-",
        "bcc.example.com",
        "b.cc.example",
        "bсс.example",  # Cyrillic "с"
        "xn--b-7tba.example",  # punycode of the Cyrillic look-alike
        "ｂｃｃ.example",  # full-width
    ],
)
def test_lookalike_domains_are_rejected(domain):
    assert decode(f"acme@{domain}", DOMAIN) is None
    assert decode(f"acme+d{TOKEN}@{domain}", DOMAIN) is None


# --- fuzzing -----------------------------------------------------------------


def _check_decoded(result):
    assert result is None or isinstance(result, Decoded)
    if result is not None:
        assert result.kind in ("company", "deal", "lead")
        assert is_valid_slug(result.slug)
        if result.kind == "company":
            assert result.token is None
            assert result.slug not in RESERVED_LOCAL_PARTS
        else:
            assert addresses.is_valid_token(result.token)


@settings(max_examples=1000)
@given(st.text())
def test_decode_never_raises_on_arbitrary_text(text):
    _check_decoded(decode(text, DOMAIN))


# Biased towards the format's own characters so the fuzzer reaches deep branches.
_format_chars = st.text(alphabet="aAdDlL27xX-+.@<> \t\"\x00é_!", max_size=40)
_tails = st.sampled_from(["@bcc.example", "@BCC.example.", "", "@evilbcc.example"])


@settings(max_examples=1000)
@given(local=_format_chars, token=st.one_of(st.just(""), tokens), tail=_tails)
def test_decode_never_raises_on_near_miss_addresses(local, token, tail):
    result = decode(local + token + tail, DOMAIN)
    _check_decoded(result)
    if result is not None and result.token is not None:
        # Whatever decodes must re-encode to an address meaning the same thing.
        again = item_address(result.slug, result.kind, result.token, DOMAIN)
        assert decode(again, DOMAIN) == result
