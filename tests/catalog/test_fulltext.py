"""Free text as researchers ask: remarks, stemming, synonyms, punctuation, prefixes, relevance
order and its cursor, and suggestions built from what the caller may see (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog import ranking
from catalog.errors import InvalidQueryError
from catalog.fulltext import fts5_query, normalise, query_terms
from catalog.registration import register_datafile
from catalog.schemas import Principal, SearchParams
from catalog.search import get_dataset, search_datasets
from catalog.suggest import suggest
from formats.model import DataFile
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_datafile, make_dataset
from tests.sql_log import recorded_statements

ANON = Principal.anonymous()


def found(db: Session, **params: object) -> list[str]:
    """Public ids of one page in the order the search gives them."""
    page = search_datasets(db, SearchParams(limit=1000, **params), ANON, NOW)
    return [item.public_id for item in page.items]


def test_normalisation_joins_letter_digit_punctuation() -> None:
    assert normalise("NCAR C-130 / R/V Brown, O3 (ppbv)") == "ncar c130 r v brown o3 ppbv"
    assert normalise("C130") == normalise("C-130") == "c130"
    assert normalise("Mystère-20") == "mystere20"
    assert query_terms("sounding")[0][:3] == ("sounding", "radiosonde", "raob")
    assert fts5_query(query_terms("research flight x")).count(" AND ") == 2


def _vocabulary(db: Session) -> dict[str, str]:
    """A fixed vocabulary: each dataset says one thing in its own words."""
    made = {
        "sonde": make_dataset(
            db, title="Radiosonde ascents from Male", platform="Male station",
            instrument="Vaisala RS80", summary="Twice daily launches.",
        ),
        "c130": make_dataset(
            db, title="RF06 ozone and CO", platform="NCAR C130", instrument="Ozone photometer",
            summary="Research flight into the haze plume.", pi_name="J. Hollis",
        ),
        "aerosol": make_dataset(
            db, title="Aerosol scattering at Kaashidhoo", platform="KCO surface station",
            instrument="Nephelometer", summary="Aerosol aerosol aerosols, hourly.",
            variables=("SCAT550",),
        ),
        "aerosol_once": make_dataset(
            db, title="Trace gases", platform="ORV Sagar Kanya", instrument="Filter sampler",
            summary="Ozone, with an aerosol filter now and then, over a long cruise of many "
            "days and many words that dilute the one mention of the subject.",
            variables=("SO2",),
        ),
    }  # fmt: skip
    db.commit()
    return {key: d.public_id for key, d in made.items()}


def test_remarks_synonyms_stems_and_punctuation_find_what_people_mean(db: Session) -> None:
    ids = _vocabulary(db)
    assert found(db, q="sounding") == [ids["sonde"]]  # synonym of radiosonde
    assert found(db, q="soundings") == [ids["sonde"]]  # and its plural (stemmed)
    assert set(found(db, q="C-130")) == {ids["c130"]}  # punctuation normalised
    assert set(found(db, q="hercules")) == {ids["c130"]}
    assert found(db, q="RF06") == [ids["c130"]]
    assert found(db, q="haze") == [ids["c130"]]  # remarks are searched
    assert found(db, q="research flight") == [ids["c130"]]
    assert found(db, q="launch") == [ids["sonde"]]  # stemming: launches
    assert found(db, q="Holl") == [ids["c130"]]  # a partial PI name (prefix)
    assert found(db, q="scat550") == [ids["aerosol"]]  # variable names
    assert found(db, q="zzzunknown") == []
    assert found(db, q="sounding haze") == []  # every word must match


def test_relevance_is_the_default_order_with_words(db: Session) -> None:
    ids = _vocabulary(db)
    ranked = found(db, q="aerosol")
    assert ranked == [ids["aerosol"], ids["aerosol_once"]]  # many mentions first
    by_time = found(db, q="aerosol", sort="-start")
    assert set(by_time) == set(ranked)
    page = search_datasets(db, SearchParams(q="aerosol", limit=1), ANON, NOW)
    assert [i.public_id for i in page.items] == [ids["aerosol"]]
    assert page.next_cursor is not None
    after = SearchParams(q="aerosol", limit=1, cursor=page.next_cursor)
    rest = search_datasets(db, after, ANON, NOW)
    assert [i.public_id for i in rest.items] == [ids["aerosol_once"]]
    assert rest.next_cursor is None


def test_relevance_without_words_falls_back_to_time(db: Session) -> None:
    ids = _vocabulary(db)
    assert len(found(db, sort="relevance")) == len(ids)
    assert found(db, q="%") == []  # no words: nothing to match


def test_suggestions_prefix_partial_words_and_only_what_may_be_seen(db: Session) -> None:
    make_dataset(db, platform="NCAR C-130", pi_name="Dr. J. Hollis", variables=("O3", "CO"))
    make_dataset(db, platform="NCAR C-130", pi_name="Hollister", variables=("O3",))
    make_dataset(db, platform="Secret C-1 Drone", pi_name="Holly Hidden", access_state="private")
    db.commit()
    platforms = suggest(db, "platform", "C-1", ANON, NOW)
    assert [s.value for s in platforms] == ["NCAR C-130"]
    assert [s.value for s in suggest(db, "platform", "c13", ANON, NOW)] == ["NCAR C-130"]
    pis = [s.value for s in suggest(db, "pi", "holl", ANON, NOW)]
    assert sorted(pis) == ["Dr. J. Hollis", "Hollister"]  # never the private "Holly Hidden"
    assert suggest(db, "pi", "hidden", ANON, NOW) == []
    variables = suggest(db, "variable", "o", ANON, NOW)
    assert [s.value for s in variables] == ["O3"]
    assert len(suggest(db, "pi", "", ANON, NOW, limit=1)) == 1
    with pytest.raises(InvalidQueryError):
        suggest(db, "pi", "h", ANON, NOW, limit=500)


def test_documents_follow_edits(db: Session) -> None:
    dataset = make_dataset(db, title="Lidar profiles", summary="")
    db.commit()
    assert found(db, q="monsoon") == []
    dataset.summary = "Winter monsoon outflow"
    dataset.updated = datetime(2026, 1, 2, tzinfo=UTC)
    dataset.refresh_search_text()
    db.commit()
    assert found(db, q="monsoon") == [dataset.public_id]
    db.delete(dataset)
    db.commit()
    assert found(db, q="monsoon") == []


def _register(db: Session, datafile: DataFile, sha: str) -> str:
    dataset = register_datafile(
        db,
        datafile=datafile,
        sha256=sha,
        size=1,
        original_name="f.ict",
        center_code="JOSS",
        campaign_code="INDOEX",
        now=NOW,
    )
    db.commit()
    return dataset.public_id


def test_variable_long_names_from_the_file_are_searched(db: Session) -> None:
    datafile = make_datafile(did=41)
    datafile.columns[-1].attributes["long_name"] = "Aerosol number concentration, D > 10 nm"
    icartt = make_datafile(did=42)
    icartt.columns[-1].attributes["comment"] = "Carbonaceous smoke tracer"  # ICARTT descriptor
    described = _register(db, datafile, "b" * 64)
    from_icartt = _register(db, icartt, "c" * 64)
    assert found(db, q="aerosol") == [described]  # the example
    assert found(db, q="concentration") == [described]
    assert found(db, q="carbonaceous") == [from_icartt]
    assert set(found(db, q="O3")) == {described, from_icartt}  # variable names too
    detail = get_dataset(db, described, ANON, NOW)
    assert detail.variable_details[-1].long_name.startswith("Aerosol number")


def test_file_remarks_become_the_searched_summary(db: Session) -> None:
    datafile = make_datafile(did=43)
    datafile.header.remarks = ["PLATFORM: NCAR C-130", "Flight through a thick haze layer"]
    public_id = _register(db, datafile, "d" * 64)
    assert found(db, q="thick haze") == [public_id]
    assert found(db, q="layer") == [public_id]


def _ranked_vocabulary(db: Session, days: int = 8) -> dict[str, str]:
    """`aerosol` said k times in dataset k (k = 1..days), newest = most mentions but one."""
    ids = {}
    for k in range(1, days + 1):
        start = datetime(1999, 2, 1, tzinfo=UTC) + timedelta(days=(k * 3) % days)
        summary = " ".join(["aerosol"] * k + ["filler text of the record"] * 2)
        made = make_dataset(db, title=f"Record {k}", summary=summary, start=start)
        ids[f"a{k}"] = made.public_id
    hidden = make_dataset(
        db, title="Hidden", summary=" ".join(["aerosol"] * 50), access_state="private"
    )
    ids["hidden"] = hidden.public_id
    db.commit()
    return ids


def _all_pages(db: Session, limit: int, **params: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(50):  # a cursor that does not advance fails instead of looping
        page = search_datasets(db, SearchParams(limit=limit, cursor=cursor, **params), ANON, NOW)
        seen += [item.public_id for item in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError(f"paging did not end: {seen}")


def test_relevance_ranks_every_match_when_they_fit_the_window(db: Session) -> None:
    ids = _ranked_vocabulary(db)
    expected = [ids[f"a{k}"] for k in range(8, 0, -1)]  # more mentions first
    assert found(db, q="aerosol") == expected  # the private one is neither ranked nor shown
    assert _all_pages(db, 3, q="aerosol") == expected


def test_relevance_beyond_the_window_continues_by_time(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _ranked_vocabulary(db)
    monkeypatch.setattr(ranking, "WINDOW", 3)
    by_time = found(db, q="aerosol", sort="-start")
    window, rest = by_time[:3], by_time[3:]
    ranked_window = [ids[f"a{k}"] for k in range(8, 0, -1) if ids[f"a{k}"] in window]
    assert found(db, q="aerosol") == ranked_window + rest
    assert ids["hidden"] not in by_time  # visibility applies before the window is cut
    for limit in (1, 2, 3, 4):  # pages across the boundary: each match once, in order
        assert _all_pages(db, limit, q="aerosol") == ranked_window + rest


@pytest.mark.parametrize("few", [20_000, 2])
def test_relevance_window_from_the_text_index_or_the_time_walk_agree(
    db: Session, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """The window is the same whether it is taken from the text indexes (few expected
    matches; PostgreSQL) or by walking the start index (more than `FEW` found after all)."""
    ids = _ranked_vocabulary(db)
    monkeypatch.setattr(ranking, "WINDOW", 3)
    monkeypatch.setattr(ranking, "FEW", few)
    by_time = found(db, q="aerosol", sort="-start")
    window, rest = by_time[:3], by_time[3:]
    ranked_window = [ids[f"a{k}"] for k in range(8, 0, -1) if ids[f"a{k}"] in window]
    for limit in (2, 1000):
        assert _all_pages(db, limit, q="aerosol") == ranked_window + rest
    assert found(db, q="zzyzx") == []


def _statements(db: Session, **params: object) -> list[str]:
    """The SQL statements one search issues."""
    with recorded_statements(db.get_bind()) as statements:
        found(db, **params)
    return statements


@pytest.mark.parametrize("few", [20_000, 2])
def test_a_relevance_page_scores_in_its_window_and_asks_the_planner_once(
    db: Session, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """PostgreSQL: the window's statement carries the score (no statement of its own, on
    either way of filling the window), and the planner's estimate is asked by the first
    search only; the next one, on the same engine, reuses it."""
    _ranked_vocabulary(db)
    db.commit()
    monkeypatch.setattr(ranking, "FEW", few)
    first = _statements(db, q="aerosol")
    again = _statements(db, q="aerosol")
    if db.get_bind().dialect.name != "postgresql":
        return  # SQLite scores with bm25 over the FTS table, after the window
    assert sum(s.startswith("EXPLAIN") for s in first) <= 1, first
    assert not any(s.startswith("EXPLAIN") for s in again), again
    for statements in (first, again):
        scored = [s for s in statements if "ts_rank" in s]
        # only the window's statements (with their match) score: no statement of its own
        assert scored and all("@@" in s for s in scored), statements


def test_a_walked_relevance_page_costs_the_plain_pages_statements(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, the window walked: as many statements as the plain page; the window's
    statement also reads the page's datasets whole (their variables and the centers'
    freshness follow, as for the plain page)."""
    _ranked_vocabulary(db)
    db.commit()
    monkeypatch.setattr(ranking, "FEW", 0)  # never from the text indexes
    _statements(db, q="aerosol", facets=False)  # the planner's estimate, asked once
    ranked = _statements(db, q="aerosol", facets=False)
    plain = _statements(db, facets=False)
    if db.get_bind().dialect.name != "postgresql":
        return
    assert len(ranked) == len(plain), (ranked, plain)
    (window,) = [s for s in ranked if "ts_rank" in s]
    assert "datasets.title" in window and "LIMIT" in window, window


def test_a_word_matching_nothing_reads_the_text_index_not_the_start_index(db: Session) -> None:
    """The 16-second regression at 1,000,000 datasets: PostgreSQL's planner assumes a word it
    has no statistics for matches 0.5% of rows and walks the whole `start` index to fill the
    window. Few expected matches are taken from the text indexes by bitmap scans instead,
    and the planner settings that force it are the transaction's and are put back."""
    make_dataset(db, title="Radiosonde ascents")
    db.commit()
    if db.get_bind().dialect.name == "postgresql":
        jit = db.execute(text("SELECT current_setting('jit')")).scalar_one()
    bind = db.get_bind()
    with recorded_statements(bind) as statements:
        assert found(db, q="zzyzx") == []
    if bind.dialect.name != "postgresql":
        return  # SQLite: FTS5's MATCH drives the window query
    assert any("AS MATERIALIZED" in s for s in statements), statements
    assert not any("datasets.start DESC" in s for s in statements), statements  # no walk
    # JIT is off with them: the switched-off scans' cost penalty would otherwise make the
    # planner compile the statement (a third of a second at 1,000,000 datasets)
    assert any("set_config('jit', 'off', true)" in s for s in statements), statements
    settings = db.execute(
        text(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan'), "
            "current_setting('jit')"
        )
    ).one()
    assert tuple(settings) == ("on", "on", jit)
