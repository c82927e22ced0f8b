"""Free-text search: one normalised document per dataset, matched through the database's
full-text index (SQLite FTS5 with the Porter stemmer, PostgreSQL `tsvector` + GIN, and
`pg_trgm` for partial words), with a campaign vocabulary of synonyms kept as data.

Normalisation is applied alike to the document and to the query, so `C-130` and `C130`
meet as `c130` (a hyphen, slash or dot between a letter and a digit is dropped; other
punctuation separates words). Each query word matches as a prefix,
and any word of its synonym group (`catalog/synonyms.txt`) matches too; every query word
must match (AND of ORs). See docs/search.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy import column as sql_column

SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")
MAX_TERMS = 12
"""Query words beyond this many are ignored (a query is a few words, not a document)."""
PG_CONFIG: ColumnElement[str] = literal_column("'english'::regconfig")
TRIGRAM_MIN = 3
"""Shortest word matched inside other words (`pg_trgm` needs three characters)."""

_JOIN = re.compile(r"(?<=[a-z])[-/.](?=\d)|(?<=\d)[-/.](?=[a-z])")
_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """Lower-case words of `text`, space-separated: accents folded, `C-130` -> `c130`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(_WORD.findall(_JOIN.sub("", folded)))


def document(parts: Iterable[str | None]) -> str:
    """The searchable text of a dataset: its public fields and variable names, normalised."""
    return normalise(" ".join(p for p in parts if p))


@lru_cache(maxsize=1)
def synonym_groups() -> dict[str, tuple[str, ...]]:
    """Each normalised vocabulary entry -> its whole group (entries may be several words)."""
    groups: dict[str, tuple[str, ...]] = {}
    for line in SYNONYMS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        group = tuple(dict.fromkeys(normalise(entry) for entry in line.split(",")))
        group = tuple(entry for entry in group if entry)
        for entry in group:
            groups[entry] = tuple(dict.fromkeys(groups.get(entry, ()) + group))
    return groups


def query_terms(q: str) -> list[tuple[str, ...]]:
    """The query as a list of alternatives per word: each word with its synonyms.

    Each alternative is a phrase (one or more words); a word must match one of them.
    """
    words = normalise(q).split()[:MAX_TERMS]
    return [_group_of(word) for word in words]


def _group_of(word: str) -> tuple[str, ...]:
    """The synonym group of `word` or of its singular (`soundings` -> `sounding`)."""
    groups = synonym_groups()
    for form in (word, word.removesuffix("s"), word.removesuffix("es")):
        if form in groups:
            return groups[form] if form == word else (word, *groups[form])
    return (word,)


def _fts5_phrase(phrase: str) -> str:
    words = phrase.split()
    # Words are [a-z0-9]+ (normalised), so they need no quoting beyond FTS5's.
    return (
        " + ".join(f'"{w}"' for w in words[:-1])
        + (" + " if len(words) > 1 else "")
        + (f'"{words[-1]}"*')
    )


def fts5_query(terms: list[tuple[str, ...]]) -> str:
    """The FTS5 MATCH expression: every word (as a prefix) or one of its synonyms."""
    return " AND ".join("(" + " OR ".join(_fts5_phrase(p) for p in alts) + ")" for alts in terms)


def tsquery_text(alternatives: tuple[str, ...]) -> str:
    """A `to_tsquery` text for one query word: its alternatives as prefix phrases."""
    phrases = [" <-> ".join(f"{w}:*" for w in phrase.split()) for phrase in alternatives]
    return " | ".join(f"({p})" for p in phrases)


FTS_TABLE = table("datasets_fts", sql_column("rowid"), sql_column("datasets_fts"))


def pg_vector(search_text: SQLColumnExpression[str]) -> ColumnElement[object]:
    """The stored `tsvector` of the row (`datasets.search_vector`, indexed by GIN)."""
    del search_text  # the vector is the stored form of this text
    return literal_column("datasets.search_vector")


def match_clause(
    dialect: str,
    q: str,
    dataset_id: SQLColumnExpression[int],
    search_text: SQLColumnExpression[str],
) -> ColumnElement[bool] | None:
    """The WHERE condition of a free-text query on `dialect`, or None if `q` has no words."""
    terms = query_terms(q)
    if not terms:
        return None
    if dialect == "sqlite":
        matched = select(FTS_TABLE.c.rowid).where(
            literal_column("datasets_fts").op("MATCH")(fts5_query(terms))
        )
        return dataset_id.in_(matched)
    return and_(*(_pg_term(alts, search_text) for alts in terms))


def _pg_term(
    alternatives: tuple[str, ...], search_text: SQLColumnExpression[str]
) -> ColumnElement[bool]:
    tsq = func.to_tsquery(PG_CONFIG, tsquery_text(alternatives))
    clauses: list[ColumnElement[bool]] = [pg_vector(search_text).op("@@")(tsq)]
    clauses += [
        search_text.contains(alt, autoescape=True)
        for alt in alternatives
        if len(alt) >= TRIGRAM_MIN
    ]
    return or_(*clauses)
