"""The meaningful words of a mail or a deal's title, as the deal ranking (backend/domain/dealrank.py)
compares them."""
from __future__ import annotations

import re
import unicodedata

TEXT_CHARS = 20_000  # of a mail's text read for similarity

_STOP = frozenset("""
a an and are as at be but by can could deal do for from has have hi hello how i if in into is it its
let me my no not of on or our please re fw fwd aw sv wg so some that the their them then there these
this those to up us was we were what when where which who will with would you your about any all also
been just more new next now one only other out over thanks thank regards best get got here see sent
shall should than too very via yes dear kind call week today tomorrow monday tuesday wednesday thursday
friday following follow quick question update note mail email message attached attachment order
""".split())
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_UK = {"cense": "cence", "fense": "fence", "ization": "isation", "yze": "yse"}  # US -> British spellings
_US = re.compile(r"(cense|fense|ization|yze)$")


def words(text: str | None) -> set[str]:
    """The meaningful words of a text, lower-cased, folded (ASCII where possible, US spellings to
    British: license, licence), a plural 's' dropped; quoted lines (starting with '>') left out."""
    if not text:
        return set()
    lines = [ln for ln in text[:TEXT_CHARS].splitlines() if not ln.lstrip().startswith(">")]
    folded = unicodedata.normalize("NFKD", " ".join(lines).lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    out = set()
    for word in _WORD.findall(folded):
        if len(word) < 3 or word in _STOP or word.isdigit() and len(word) < 4:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.add(_US.sub(lambda m: _UK[m.group(1)], word))
    return out


_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


def sentences(text: str | None) -> list[set[str]]:
    """The words of each sentence of a text (split at line breaks and at '.', '!', '?' or ';'
    followed by a space), quoted lines left out."""
    if not text:
        return []
    lines = [ln for ln in text[:TEXT_CHARS].splitlines() if not ln.lstrip().startswith(">")]
    return [found for part in _SENTENCE.split("\n".join(lines)) if (found := words(part))]


def aside_words(picks, least: int = 3, ratio: float = 4.0, most: int = 40) -> list[str]:
    """Words a company's reps write in sentences about deals other than the one they pick ("unrelated,
    but the backup pilot can wait"): ``picks`` are (text, {deal title: picked?}); a word counts
    when it is in at least ``least`` sentences naming a deal not picked and ``ratio`` times as
    many of those as of sentences naming the picked one. A sentence names the deals it shares the
    most title words with."""
    against: dict[str, int] = {}
    about: dict[str, int] = {}
    for text, titles in picks:
        named_by = {title: words(title) for title in titles}
        every = set().union(*named_by.values()) if named_by else set()
        for said in sentences(text):
            # A sentence is about the deals it names most of (not one sharing a word with them).
            best = max((len(named & said) for named in named_by.values()), default=0)
            for title, picked in titles.items() if best else ():
                if len(named_by[title] & said) == best:
                    for word in said - every:
                        counts = about if picked else against
                        counts[word] = counts.get(word, 0) + 1
    found = [(against[w] / (about.get(w, 0) + 0.5), w) for w in against
             if against[w] >= least and against[w] >= ratio * (about.get(w, 0) + 0.5)]
    return sorted(w for _, w in sorted(found, reverse=True)[:most])


# An amount as people write it: "24,000", "24.000", "24 000", "24000", "24k", "1.2m", "€ 24,000.00",
# "EUR 24.000", "24 000 CHF". Numbers below MIN_AMOUNT, and years (1900-2099) written without a
# currency, a separator or a multiplier, are not amounts.
MIN_AMOUNT = 100
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₣": "CHF"}
_AMOUNT = re.compile(
    r"(?<![\w.,])(?P<pre>[A-Z]{3}|[€$£¥₣])?\s?"
    r"(?P<num>\d{1,3}(?:(?P<sep>[,. \u00a0'’])\d{3})(?:(?P=sep)\d{3})*|\d+)"
    r"(?:[.,](?P<dec>\d{1,2}))?(?!\d)(?![.,]\d)"
    r"\s?(?P<mult>k|K|m|M|thousand|million|Mio\.?)?(?![^\W\d_])\s?(?P<post>[A-Z]{3}(?![^\W\d_])|[€$£¥₣])?")
_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "mio": 1e6, "mio.": 1e6}


def amounts(text: str | None) -> set[tuple[float, str]]:
    """The amounts a text names, each with its currency ("" when none is written): "EUR 24,000"
    and "24.000 €" are (24000.0, "EUR"), "24k" is (24000.0, ""); quoted lines are left out."""
    if not text:
        return set()
    lines = [ln for ln in text[:TEXT_CHARS].splitlines() if not ln.lstrip().startswith(">")]
    out = set()
    for m in _AMOUNT.finditer("\n".join(lines)):
        currency = m.group("pre") or m.group("post") or ""
        currency = _SYMBOLS.get(currency, currency)
        mult = _MULT.get((m.group("mult") or "").lower(), 1.0)
        digits = m.group("num")
        if m.group("sep"):
            digits = digits.replace(m.group("sep"), "")
        value = float(digits + ("." + m.group("dec") if m.group("dec") else "")) * mult
        plain = not currency and not m.group("sep") and mult == 1.0
        if value < MIN_AMOUNT or (plain and len(digits) == 4 and 1900 <= value < 2100):
            continue
        out.add((value, currency))
    return out
