"""Reading a search box (backend/domain/search.py): terms, operators, and errors that say what to write."""
from __future__ import annotations

import pytest

from backend.domain.errors import DomainError
from backend.domain.search import Term, fts_query, parse


def test_words_and_phrases():
    q = parse('pricing  "statement of work" Müller')
    assert q.terms == [Term("words", "pricing"), Term("words", "statement of work"), Term("words", "Müller")]
    assert q.deal_ids == [] and q.deal_titles == []


def test_addresses_and_domains():
    q = parse("Bob@Cust.Example @cust.example cust.example")
    assert q.terms == [Term("address", "bob@cust.example"), Term("domain", "cust.example"),
                       Term("domain", "cust.example", loose=True)]


def test_operators():
    q = parse('from:bob@cust.example to:@cust.example from:"Bob Smith" to:dana HAS:attachment deal:42 deal:"Acme renewal"')
    assert q.terms == [Term("address", "bob@cust.example", "from"), Term("domain", "cust.example", "to"),
                       Term("words", "Bob Smith", "from"), Term("words", "dana", "to"), Term("attachment")]
    assert q.deal_ids == [42] and q.deal_titles == ["acme renewal"]


def test_a_domain_after_from_is_exact_and_a_quoted_address_is_words():
    assert parse("from:cust.example").terms == [Term("domain", "cust.example", "from")]
    assert parse('"bob@cust.example"').terms == [Term("words", "bob@cust.example")]


def test_negation():
    q = parse("pricing -invoice -from:@spam.example")
    assert q.terms == [Term("words", "pricing"), Term("words", "invoice", negated=True),
                       Term("domain", "spam.example", "from", negated=True)]
    assert fts_query(q) == '((("pricing")) NOT ("invoice")) NOT (sender : "xxd spam.example xxz")'


def test_punctuation_alone_is_skipped_and_unknown_operators_are_words():
    assert parse("Q3 & Q4 - budget").terms == [Term("words", "Q3"), Term("words", "Q4"), Term("words", "budget")]
    assert parse("subject:renewal").terms == [Term("words", "subject:renewal")]


def test_fts_phrases_escape_quotes_and_addresses_are_one_phrase():
    assert fts_query(parse('say"hi')) == '("say""hi")'
    assert fts_query(parse("to:bob.smith@cust.example")) == '(recipients : "xxa bob.smith xxd cust.example xxz")'
    assert fts_query(parse("bob@cust.example has:attachment")) == (
        '({sender recipients} : "xxa bob xxd cust.example xxz") AND (tags : "xxhasattachment")')


@pytest.mark.parametrize("query, says", [
    ("from:", "Write who after from:"),
    ("pricing to: bob", "Write who after to:"),
    ("from:!!", "has no letters or digits"),
    ("deal:", "Write which deal after deal:"),
    ("deal:--", "has no letters or digits"),
    ("-deal:42", "not supported"),
    ("has:pdf", "write has:attachment"),
    ('"unclosed phrase', "quote is not closed"),
    ("@not-a-domain", "is not a domain"),
    ("-invoice", "add a term without a minus"),
    ("& -", "nothing to search for"),
    (" ".join(f"w{n}" for n in range(21)), "at most 20 terms"),
])
def test_malformed_searches_say_what_to_write(query, says):
    with pytest.raises(DomainError) as raised:
        parse(query)
    error = raised.value
    assert error.status == 400 and says in error.message
    assert error.errors == {"q": [error.message]}
    assert error.message.rstrip().endswith((".", ")"))
