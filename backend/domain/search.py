"""Full-text search of the mail: what a search box's words mean, and the SQL that finds them.

A query is a list of terms, all of which a message must match (a thread matches through any of its
live messages):

- ``word``                   a word in the subject, body text, a participant's name or address, or an
                             attachment's name; accents and case do not matter ("muller" finds "Müller")
- ``"a phrase"``             these words, in this order
- ``bob@cust.example``       a participant (sender, To, Cc, Bcc) with exactly this address
- ``@cust.example``          a participant at this domain; a bare ``cust.example`` also finds the
                             domain written in the text
- ``from:X`` / ``to:X``      the sender / a recipient (To, Cc, Bcc), by address, domain (``@x`` or
                             ``x.example``) or name words (``from:bob``, ``to:"Bob Smith"``)
- ``deal:42`` / ``deal:acme`` / ``deal:"Acme renewal"``  threads linked to deal 42 / to a deal whose
                             title has these words
- ``has:attachment``         a message with an attachment (not counting inline images)
- ``-term``                  leaves out what matches ``term``

Results are ranked by relevance (a match in the subject counts most, then names, addresses and
file names, then the body), then by recency, within windows of the newest matches. The exact rule:

1. Each matching thread has a *newest match*: the id of its newest (last stored) live message
   that matches, and a *score*: the relevance of its best matching message.
2. The matching threads are taken newest match first and cut into windows of ``WINDOW`` (100)
   threads: the 100 with the newest matches, then the next 100, and so on.
3. The results list window after window; within a window by score (highest first), then the
   thread's last message (newest first), then the thread's id (highest first).

So when at most 100 threads match, this is plain relevance then recency; for a word in a third of
the mails, the 100 threads with its newest matches are ranked, then the 100 before them, and so
on, and page 1 is read from the newest matches (``newest_matches``, ``thread_scores``) instead of
ranking all of them. Every page follows this one order, whether it is answered from the newest
matches (backend/domain/inbox.py, the default) or from all matches at once (``matching_threads``:
an exact total, a deep page, few matches).

The index behind it is kept by the database itself (migrations/versions/0011_fulltext.py):
PostgreSQL's tsvector column with a GIN index, SQLite's FTS5 table; deleted messages are not in it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from sqlalchemy import BigInteger, Float, Select, and_, bindparam, cast, func, literal_column, select, table, text
from sqlalchemy.types import Text
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

from ..models import MailMessage, MailThread, ThreadLink
from ..models.crm import Deal
from .errors import invalid

MAX_TERMS = 20
OPERATORS = ("from", "to", "deal", "has")
ADDRESS = re.compile(r"^[^@\s\"]+@((?:[\w-]+\.)+[^\W\d_]{2,})$")
DOMAIN = re.compile(r"^(?:[\w-]+\.)+[^\W\d_]{2,}$")
WORD = re.compile(r"^\w{2,}$")  # what may be completed as a prefix: one word, two characters or more
HELP = ('Search for words, a "phrase", an address (bob@customer.example), a domain (@customer.example), '
        'from:, to:, deal: or has:attachment.')


@dataclass(frozen=True)
class Term:
    """One condition on a message. ``kind``: "words" (``value`` a word or phrase), "address",
    "domain" (``value`` lower-cased, the domain without ``@``) or "attachment". ``role``: None
    (anywhere), "from" or "to". ``loose``: a bare domain, also found as words in the text."""

    kind: str
    value: str = ""
    role: str | None = None
    negated: bool = False
    loose: bool = False
    prefix: bool = False  # the last word of a search typed as you go: any word it begins


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)  # conditions on messages
    deal_ids: list[int] = field(default_factory=list)  # deal:42
    deal_titles: list[str] = field(default_factory=list)  # deal:"acme renewal"

    @property
    def matches_messages(self) -> bool:
        return bool(self.terms)

    @property
    def narrow(self) -> bool:
        """One person's mail (an exact address): few matches, ranked all at once more cheaply
        than read newest first (the order is the same either way)."""
        return any(t.kind == "address" and not t.negated for t in self.terms)


def _fail(message: str):
    raise invalid("q", message)


def _tokens(query: str):
    """(negated, operator or None, value, quoted) for each term of ``query``."""
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        negated = query[i] == "-" and i + 1 < n and not query[i + 1].isspace()
        if negated:
            i += 1
        operator = None
        match = re.match(r"(?i)(from|to|deal|has):", query[i:])
        if match:
            operator = match.group(1).lower()
            i += match.end()
        if i < n and query[i] == '"':
            end = query.find('"', i + 1)
            if end < 0:
                _fail('A quote is not closed: add the closing " after the phrase, or remove the quote.')
            yield negated, operator, query[i + 1:end], True
            i = end + 1
        else:
            end = i
            while end < n and not query[end].isspace():
                end += 1
            yield negated, operator, query[i:end], False
            i = end


def _has_text(value: str) -> bool:
    return any(c.isalnum() for c in value)


def _who(value: str, role: str | None, negated: bool, quoted: bool) -> Term | None:
    """An address, a domain, or words (of a name, or of the text when ``role`` is None)."""
    lowered = value.strip().lower()
    if not quoted and ADDRESS.match(lowered):
        return Term("address", lowered, role, negated)
    if not quoted and lowered.startswith("@"):
        if not DOMAIN.match(lowered[1:]):
            _fail(f'"{value}" is not a domain: write it like @customer.example.')
        return Term("domain", lowered[1:], role, negated)
    if not quoted and DOMAIN.match(lowered):
        return Term("domain", lowered, role, negated, loose=role is None)
    if not _has_text(value):
        return None
    return Term("words", value.strip(), role, negated)


def parse(query: str, *, prefix_last: bool = False) -> Query:
    """The terms of a search box's text; a DomainError (400, field ``q``) saying what to write
    instead when it cannot be read. ``prefix_last`` (a box that suggests as you type): a last bare
    word not yet followed by a space also finds the words it begins ("propo" finds "proposal")."""
    parsed = Query()
    text = (query or "").replace("\x00", "")
    last_bare = False
    for negated, operator, value, quoted in _tokens(text):
        last_bare = not (negated or operator or quoted)
        if operator in ("from", "to"):
            if not value.strip():
                _fail(f"Write who after {operator}: (no space), e.g. {operator}:bob@customer.example, "
                      f"{operator}:@customer.example or {operator}:Bob.")
            term = _who(value, operator, negated, quoted)
            if term is None:
                _fail(f'{operator}:{value} has no letters or digits: write an address, a domain or a name.')
            parsed.terms.append(term)
        elif operator == "has":
            if value.strip().lower() not in ("attachment", "attachments"):
                _fail(f'has:{value} is not something to search for: write has:attachment.')
            parsed.terms.append(Term("attachment", negated=negated))
        elif operator == "deal":
            if negated:
                _fail("Leaving out a deal (-deal:) is not supported: search for deal:… without the minus.")
            value = value.strip()
            if not value:
                _fail('Write which deal after deal: (no space), e.g. deal:42 or deal:"Acme renewal".')
            if value.isdigit():
                parsed.deal_ids.append(int(value))
            elif not _has_text(value):
                _fail(f'deal:{value} has no letters or digits: write the deal\'s id or words of its title.')
            else:
                parsed.deal_titles.append(value.lower())
        else:
            term = _who(value, None, negated, quoted)
            if term is not None:  # punctuation alone ("&", "-") is not searched for
                parsed.terms.append(term)
    count = len(parsed.terms) + len(parsed.deal_ids) + len(parsed.deal_titles)
    if count == 0:
        _fail(f"There is nothing to search for. {HELP}")
    if count > MAX_TERMS:
        _fail(f"Search for at most {MAX_TERMS} terms at once; leave some out.")
    if parsed.terms and all(t.negated for t in parsed.terms) and not (parsed.deal_ids or parsed.deal_titles):
        _fail("Say what to find as well as what to leave out: add a term without a minus.")
    last = parsed.terms[-1] if parsed.terms else None
    if (prefix_last and last_bare and not text[-1:].isspace() and last is not None and last.kind == "words"
            and WORD.match(last.value)):
        parsed.terms[-1] = replace(last, prefix=True)
    return parsed


# ------------------------------------------------------------------------------------------ SQL

def _literal(value: str | int):
    # Rendered into the statement (quoted by the dialect), not bound: the generic plan of a prepared statement
    # (psycopg prepares one run 5 times) cannot judge how many rows a search term, or a range of ids, matches.
    return bindparam(None, value, literal_execute=True)


# SQLite (FTS5): mail_search's columns and how much a match in each counts (bm25 weights).
FTS_WEIGHTS = {"subject": 10.0, "body": 1.0, "sender": 5.0, "recipients": 3.0, "files": 5.0, "tags": 0.0}
FTS_ROLE_COLUMNS = {None: "{sender recipients}", "from": "sender", "to": "recipients"}


def _fts_phrase(words: str) -> str:
    return '"' + words.replace('"', '""') + '"'


def _fts_term(term: Term) -> str:
    if term.kind == "attachment":
        return 'tags : "xxhasattachment"'
    if term.kind == "address":
        local, domain = term.value.rsplit("@", 1)
        return f"{FTS_ROLE_COLUMNS[term.role]} : {_fts_phrase(f'xxa {local} xxd {domain} xxz')}"
    if term.kind == "domain":
        if term.loose:  # the domain's words anywhere: as an address's domain, or in the text
            return _fts_phrase(term.value)
        return f"{FTS_ROLE_COLUMNS[term.role]} : {_fts_phrase(f'xxd {term.value} xxz')}"
    if term.prefix:
        return _fts_phrase(term.value) + "*"
    if term.role is None:
        return _fts_phrase(term.value)
    return f"{FTS_ROLE_COLUMNS[term.role]} : {_fts_phrase(term.value)}"


def fts_query(query: Query) -> str:
    """The FTS5 MATCH expression of ``query``'s message terms."""
    wanted = [f"({_fts_term(t)})" for t in query.terms if not t.negated]
    expression = " AND ".join(wanted)
    for term in query.terms:
        if term.negated:
            expression = f"({expression}) NOT ({_fts_term(term)})"
    return expression


def _tsquery_lexemes(*lexemes: str):
    """A tsquery matching any of these exact lexemes (the document's tags)."""
    quoted = " | ".join("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)
    return cast(_literal(quoted), TSQUERY)


ROLE_PREFIX = {"from": ("f",), "to": ("t",), None: ("f", "t")}


def _tsquery_term(term: Term):
    if term.kind == "attachment":
        return _tsquery_lexemes("has:attachment")
    if term.kind == "address":
        return _tsquery_lexemes(*(f"{side}:{term.value}" for side in ROLE_PREFIX[term.role]))
    if term.kind == "domain":
        tags = _tsquery_lexemes(*(f"{side}@{term.value}" for side in ROLE_PREFIX[term.role]))
        if term.loose:
            return func.tsquery_or(tags, func.phraseto_tsquery("simple", func.smartbcc_fold(_literal(term.value))))
        return tags
    if term.prefix:  # 'propo':* (to_tsquery, the folded word quoted as a literal)
        return func.to_tsquery("simple", func.concat(func.quote_literal(func.smartbcc_fold(_literal(term.value))),
                                                     ":*"))
    if term.role is None:
        return func.phraseto_tsquery("simple", func.smartbcc_fold(_literal(term.value)))
    return func.smartbcc_role_words(ROLE_PREFIX[term.role][0] + "~", _literal(term.value))


def pg_tsquery(query: Query):
    """The tsquery of ``query``'s message terms (PostgreSQL)."""
    result = None
    for term in sorted(query.terms, key=lambda t: t.negated):
        part = _tsquery_term(term)
        if term.negated:
            part = func.tsquery_not(part)
        result = part if result is None else func.tsquery_and(result, part)
    return result


SEARCH_VECTOR = literal_column("mail_messages.search_vector", TSVECTOR)
WINDOW = 100  # threads ranked together (the order rule above)


def _fts_weights() -> str:
    return ", ".join(str(w) for w in FTS_WEIGHTS.values())


def _few_groups(newest):
    """PostgreSQL: true of every matching thread, it makes the planner expect few (a range on an aggregate, without
    statistics: 0.5 % of the groups). For an address it guessed 6,261 matches for 28 at 1,000,000 messages, then
    scanned all the company's threads twice to join them (~200 ms); now each is looked up by its key."""
    return newest.between(_literal(1), _literal(2 ** 63 - 1))


def matching_threads(company_id: int, query: Query, dialect: str) -> Select | TextClause | None:
    """All the company's threads with a live message matching ``query``'s message terms, each with
    ``score`` (the relevance of its best message; higher is better) and ``newest`` (the id of its
    newest matching message); None when the query has only thread conditions (deal:)."""
    if not query.matches_messages:
        return None
    if dialect == "postgresql":
        tsquery, newest = pg_tsquery(query), func.max(MailMessage.id)
        return (select(MailMessage.thread_id.label("thread_id"),
                       func.max(func.ts_rank(SEARCH_VECTOR, tsquery)).label("score"), newest.label("newest"))
                .where(MailMessage.company_id == company_id, MailMessage.deleted_at.is_(None),
                       SEARCH_VECTOR.op("@@")(tsquery))
                .group_by(MailMessage.thread_id)
                .having(_few_groups(newest)))
    # bm25() may not be called where rows are grouped: the matches are ranked first (MATERIALIZED).
    return (text("WITH search_fts AS MATERIALIZED ("
                 f"SELECT rowid AS id, -bm25(mail_search, {_fts_weights()}) AS score FROM mail_search "
                 "WHERE mail_search MATCH :search_fts) "
                 "SELECT m.thread_id AS thread_id, max(f.score) AS score, max(m.id) AS newest "
                 "FROM search_fts f JOIN mail_messages m ON m.id = f.id "
                 "WHERE m.company_id = :search_company AND m.deleted_at IS NULL GROUP BY m.thread_id")
            .bindparams(search_fts=fts_query(query), search_company=company_id)
            .columns(thread_id=BigInteger, score=Float, newest=BigInteger))


def pg_tsquery_text(query: Query) -> Select:
    """PostgreSQL: ``query``'s tsquery as text, to be given back as a constant (``newest_matches``):
    the planner judges a constant's lexemes by the column's statistics, where a function of the
    search words gets a fixed guess (a rare word was walked like a common one: seconds)."""
    return select(cast(pg_tsquery(query), Text))


def newest_matches(company_id: int, query: Query, dialect: str, below: int, since: int, limit: int,
                   tsquery: str | None = None):
    """The newest ``limit`` messages matching ``query`` with an id in [since, below), newest first,
    as (id, thread_id); fewer than ``limit`` rows: that range has no more matches. A caller reads
    the newest ids first, in ranges it widens: on PostgreSQL the planner then answers a common
    word by walking the company's live messages backwards (ix_mail_messages_company_live) and a
    rarer one by intersecting the GIN index with the range, reading only the matches' rows (given
    ``tsquery``, the text of ``pg_tsquery_text``, so that it can judge which); FTS5
    reads its index by rowid (a message is its thread's company's; the index has no deleted ones)."""
    if dialect == "postgresql":
        matches = cast(_literal(tsquery), TSQUERY) if tsquery is not None else pg_tsquery(query)
        return (select(MailMessage.id.label("id"), MailMessage.thread_id.label("thread_id"))
                .where(MailMessage.company_id == company_id, MailMessage.deleted_at.is_(None),
                       MailMessage.id < _literal(below), MailMessage.id >= _literal(since),
                       SEARCH_VECTOR.op("@@")(matches))
                .order_by(MailMessage.id.desc()).limit(_literal(limit)))
    # thread_id is read, not company_id or deleted_at, which follow the body in the row.
    statement = text("SELECT f.id AS id, m.thread_id AS thread_id FROM ("
                     "SELECT rowid AS id FROM mail_search WHERE mail_search MATCH :search_fts "
                     "AND rowid < :search_below AND rowid >= :search_since ORDER BY rowid DESC LIMIT :search_limit) f "
                     "LEFT JOIN mail_messages m ON m.id = f.id ORDER BY f.id DESC")
    return (statement.bindparams(search_fts=fts_query(query), search_below=below, search_since=since,
                                 search_limit=limit)
            .columns(id=BigInteger, thread_id=BigInteger))


def thread_scores(company_id: int, query: Query, dialect: str, in_threads) -> Select | TextClause:
    """(thread_id, score) of the threads ``in_threads`` (a condition on a thread id column, e.g.
    ``sql.in_ids``) that match: the same score as ``matching_threads`` gives them."""
    if dialect == "postgresql":  # the threads' live messages (ix_mail_messages_thread_live), each tested: not the
        # GIN index, whose bitmap of a common word costs more than the page's few hundred messages (OFFSET 0).
        tsquery = pg_tsquery(query)
        live = (select(MailMessage.thread_id, SEARCH_VECTOR.label("document"))
                .where(in_threads(MailMessage.thread_id), MailMessage.company_id == company_id,
                       MailMessage.deleted_at.is_(None)).offset(0).subquery("search_live"))
        return (select(live.c.thread_id.label("thread_id"),
                       func.max(func.ts_rank(live.c.document, tsquery)).label("score"))
                .where(live.c.document.op("@@")(tsquery)).group_by(live.c.thread_id))
    # The threads' live messages (ix_mail_messages_thread_live), then the matches from the oldest of
    # them on, in one pass of the index: bm25() is worked out only for those messages ("+rowid":
    # a filter, not a lookup per id, which would start the query, and bm25's statistics, anew).
    messages = (select(MailMessage.id).where(in_threads(MailMessage.thread_id), MailMessage.deleted_at.is_(None))
                .cte("search_candidates").prefix_with("MATERIALIZED"))
    ranked = (select(literal_column("rowid").label("id"),
                     literal_column(f"-bm25(mail_search, {_fts_weights()})").label("score"))
              .select_from(table("mail_search"))
              .where(text("mail_search MATCH :search_fts").bindparams(search_fts=fts_query(query)),
                     literal_column("rowid") >= select(func.min(messages.c.id)).scalar_subquery(),
                     literal_column("+rowid").in_(select(messages.c.id)))
              .cte("search_scores").prefix_with("MATERIALIZED"))
    return (select(MailMessage.thread_id.label("thread_id"), func.max(ranked.c.score).label("score"))
            .join(ranked, ranked.c.id == MailMessage.id)  # (the threads are the company's)
            .group_by(MailMessage.thread_id))


def deal_threads(company_id: int, query: Query):
    """A condition on MailThread.id: linked to every deal ``query`` names (None when it names none)."""
    conditions = []
    for deal_id in query.deal_ids:
        conditions.append(MailThread.id.in_(select(ThreadLink.thread_id).where(
            ThreadLink.company_id == company_id, ThreadLink.item_type == "deal", ThreadLink.item_id == deal_id,
            ThreadLink.removed.is_(False))))
    for title in query.deal_titles:
        words = [w for w in re.split(r"\W+", title) if w]
        deals = select(Deal.id).where(Deal.company_id == company_id,
                                      *(func.lower(Deal.title).contains(w, autoescape=True) for w in words))
        conditions.append(MailThread.id.in_(select(ThreadLink.thread_id).where(
            ThreadLink.company_id == company_id, ThreadLink.item_type == "deal", ThreadLink.item_id.in_(deals),
            ThreadLink.removed.is_(False))))
    if not conditions:
        return None
    return and_(*conditions) if len(conditions) > 1 else conditions[0]

