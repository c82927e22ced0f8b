"""How the facet tallies (`catalog.facet_tallies`) and the narrow facet rows
(`catalog.facet_models.FACET_ROWS`) are kept: the triggers that write them in every
writer's transaction, the recount after a bulk load or a migration, and the worker's fold
of the tallies (docs/search.md, "Facet counts")."""

# ruff: noqa: S608 - the SQL here is trigger DDL built from this module's constants only

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection, Engine, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from catalog.access_states import RELEASING_STATES, SHARED_STATES
from catalog.facet_models import ROW_COLUMNS, FacetTallyPause
from catalog.facet_tallies import ACCESS, BY_FACETS, VARIABLE
from catalog.models import Dataset

COLUMNS = "facet, value, shared, release_day, n"
PAIR_COLUMNS = f"by_facet, by_key, by_day, {COLUMNS}"
NO_DAY = "CAST(NULL AS INTEGER)"
_SHARED = ", ".join(f"'{s.value}'" for s in SHARED_STATES)
_RELEASING = ", ".join(f"'{s.value}'" for s in RELEASING_STATES)
_FACETS = (
    ("platform", "{r}.platform"),
    ("instrument", "{r}.instrument"),
    ("pi", "{r}.pi_name"),
    ("center", "{r}.origin_center"),
    ("project", "{r}.project"),
    ("level", "CAST({r}.level AS VARCHAR(8))"),
)


def _by_keys(dialect: str) -> list[tuple[str, str, str]]:
    """(filter, its key, its day) as SQL, `{r}` standing for the row, of the pair tallies."""
    keys = [
        (by, f"CAST({{r}}.{column} AS VARCHAR(200))", NO_DAY) for by, column in BY_FACETS.items()
    ]
    keys.append((ACCESS, "{r}.access_state", _release(dialect, "{r}")))
    return keys


WATCHED = (
    "platform", "instrument", "pi_name", "origin_center", "project", "level", "access_state",
    "release_at", "platform_key", "instrument_key", "pi_key", "project_key",
)  # fmt: skip
"""The dataset columns a tally depends on; an update touching none of them appends nothing."""
_DAY = {
    "sqlite": "CAST(strftime('%s', {r}.release_at) AS INTEGER) / 86400",
    "postgresql": "CAST(floor(extract(epoch FROM {r}.release_at) / 86400) AS INTEGER)",
}


def _shared(r: str) -> str:
    return f"({r}.access_state IN ({_SHARED}))"


def _release(dialect: str, r: str) -> str:
    """The release day of row `r` if its state releases by the clock, else NULL."""
    day = _DAY[dialect].format(r=r)
    releasing = f"{r}.access_state IN ({_RELEASING}) AND {r}.release_at IS NOT NULL"
    return f"CASE WHEN {releasing} THEN {day} END"


def _facet_values(dialect: str, r: str, named: bool = False) -> list[str]:
    """(facet, value, shared, release_day) of one dataset row `r`, one per facet, as SQL
    (`named`: each column with its name, for a SELECT)."""
    values = [(f"'{name}'", expr.format(r=r), _shared(r), NO_DAY) for name, expr in _FACETS]
    values.append(("'access'", f"{r}.access_state", _shared(r), _release(dialect, r)))
    names = (" AS facet", " AS value", " AS shared", " AS day") if named else ("",) * 4
    return [", ".join(v + n for v, n in zip(row, names, strict=True)) for row in values]


def _dataset_rows(dialect: str, r: str, sign: int) -> str:
    """VALUES rows of one dataset row `r` (`new` or `old`): one per facet, signed."""
    return ", ".join(f"({values}, {sign})" for values in _facet_values(dialect, r))


def _dataset_pair_rows(dialect: str, r: str, sign: int) -> str:
    """VALUES rows of one dataset row `r` for the pair tallies: one per filter and facet."""
    return ", ".join(
        f"('{by}', {key.format(r=r)}, {day.format(r=r)}, {values}, {sign})"
        for by, key, day in _by_keys(dialect)
        for values in _facet_values(dialect, r)
    )


def _dataset_inserts(dialect: str, r: str, sign: int) -> str:
    """The statements appending one dataset row's tallies, unfiltered and paired."""
    return (
        f"INSERT INTO facet_tallies ({COLUMNS}) VALUES {_dataset_rows(dialect, r, sign)};\n"
        f"INSERT INTO facet_pair_tallies ({PAIR_COLUMNS}) "
        f"VALUES {_dataset_pair_rows(dialect, r, sign)};"
    )


def _variable_rows(dialect: str, r: str, sign: int) -> str:
    """INSERT rows of one variable row `r` under its dataset's class (none if it is gone).

    PostgreSQL: the dataset row is locked first, as an access change locks it, so a
    variable written beside a concurrent change of its dataset's class is tallied under
    the class that commits last (a foreign key's share lock would not wait for it)."""
    lock = " FOR NO KEY UPDATE OF d" if dialect == "postgresql" else ""
    paired = " UNION ALL ".join(
        f"SELECT '{by}', {key.format(r='d')}, {day.format(r='d')}, 'variable', {r}.name, "
        f"{_shared('d')}, {NO_DAY}, {sign} FROM datasets d WHERE d.id = {r}.dataset_id"
        for by, key, day in _by_keys(dialect)
    )
    return (
        f"INSERT INTO facet_tallies ({COLUMNS}) SELECT 'variable', {r}.name, {_shared('d')}, "
        f"{NO_DAY}, {sign} FROM datasets d WHERE d.id = {r}.dataset_id{lock};\n"
        f"INSERT INTO facet_pair_tallies ({PAIR_COLUMNS}) {paired};"
    )


def _dataset_update(dialect: str) -> str:
    """The old row's tallies out, the new row's in; its variables move where their class
    (or, in the pair tallies, the filter key they are counted under) changed."""
    class_moved = f"{_shared('old')} <> {_shared('new')}"
    moved = (
        f"INSERT INTO facet_tallies ({COLUMNS}) SELECT 'variable', v.name, {_shared('{r}')}, "
        f"{NO_DAY}, {{sign}} FROM variables v WHERE v.dataset_id = {{r}}.id AND {class_moved};"
    )
    differ = _differ(dialect)
    paired = " UNION ALL ".join(
        f"SELECT '{by}', {key}, {day}, 'variable', v.name, {_shared('{r}')}, {NO_DAY}, {{sign}} "
        f"FROM variables v WHERE v.dataset_id = {{r}}.id AND ({class_moved} "
        f"OR {key.format(r='old')} {differ} {key.format(r='new')} "
        f"OR {day.format(r='old')} {differ} {day.format(r='new')})"
        for by, key, day in _by_keys(dialect)
    )
    moved_pairs = f"INSERT INTO facet_pair_tallies ({PAIR_COLUMNS}) {paired};"
    return "\n".join(
        (
            _dataset_inserts(dialect, "old", -1),
            _dataset_inserts(dialect, "new", 1),
            moved.format(r="old", sign=-1),
            moved.format(r="new", sign=1),
            moved_pairs.format(r="old", sign=-1),
            moved_pairs.format(r="new", sign=1),
            _dataset_key_moves(dialect),
        )
    )


def _dataset_delete(dialect: str) -> str:
    # The variables go first, while their dataset still tells their class (a cascade from
    # the database would run after the dataset is gone; the ORM deletes them first anyway).
    return "DELETE FROM variables WHERE dataset_id = old.id;\n" + _dataset_inserts(
        dialect, "old", -1
    )


def _variable_keys(v: str, rows: str = "", where: str = "1 = 1", lead: str = "") -> str:
    """The filter keys (column `k`) the variable rows `v` carry, read `rows` (a FROM clause,
    or nothing for a trigger's row) `where`: each one's name key and its original name
    lower-cased, as `catalog.search.filter_clauses` matches them; `lead`: columns before."""
    return (
        f"SELECT {lead}{v}.name_key AS k {rows} WHERE {where} AND {v}.name_key <> '' UNION "
        f"SELECT {lead}lower({v}.original_name) {rows} WHERE {where} AND {v}.original_name <> ''"
    )


def _dataset_keys(dataset_id: str, besides: str | None = None) -> str:
    """The filter keys the variables of one dataset carry (`besides`: but that variable)."""
    where = f"w.dataset_id = {dataset_id}"
    if besides is not None:
        where += f" AND w.id <> {besides}"
    return _variable_keys("w", "FROM variables w", where)


def _variable_key_rows(dialect: str, r: str, sign: int) -> str:
    """The pair rows a variable row `r` adds (+1) or takes away (-1) under the variable filter.

    Its dataset enters (leaves) the set of each key `r` carries that no other variable of
    the dataset carries: every facet of the dataset under that key, its variables' names
    included; under each key the other variables carry, only `r`'s name. Written against
    the table as it stands beside `r` (its other variables), so it holds whichever order
    the rows of one statement are handled in."""
    shared = _shared("d")
    facets = " UNION ALL ".join(
        [f"SELECT {values} FROM datasets d WHERE d.id = {r}.dataset_id"
         for values in _facet_values(dialect, "d", named=True)]
        + [f"SELECT 'variable', w.name, {shared}, {NO_DAY} FROM variables w "
           f"JOIN datasets d ON d.id = w.dataset_id WHERE w.dataset_id = {r}.dataset_id "
           f"AND w.id <> {r}.id",
           f"SELECT 'variable', {r}.name, {shared}, {NO_DAY} FROM datasets d "
           f"WHERE d.id = {r}.dataset_id"]
    )  # fmt: skip
    others = _dataset_keys(f"{r}.dataset_id", besides=f"{r}.id")
    head = f"INSERT INTO facet_pair_tallies ({PAIR_COLUMNS}) SELECT '{VARIABLE}', k.k, {NO_DAY}, "
    return (
        f"{head}f.*, {sign} FROM ({_variable_keys(r)} EXCEPT SELECT o.k FROM ({others}) o) k, "
        f"({facets}) f;\n"
        f"{head}'variable', {r}.name, {shared}, {NO_DAY}, {sign} FROM ({others}) k, "
        f"datasets d WHERE d.id = {r}.dataset_id;"
    )


def _dataset_key_moves(dialect: str) -> str:
    """A dataset row's update under the variable filter: its facets, under every key its
    variables carry, old out and new in; its variables' names too if its class changed."""
    keys = _dataset_keys("new.id")
    head = f"INSERT INTO facet_pair_tallies ({PAIR_COLUMNS}) SELECT '{VARIABLE}', k.k, {NO_DAY}, "
    moves = []
    for r, sign in (("old", -1), ("new", 1)):
        facets = " UNION ALL ".join(f"SELECT {v}" for v in _facet_values(dialect, r, named=True))
        moves.append(f"{head}f.*, {sign} FROM ({keys}) k, ({facets}) f;")
        moves.append(
            f"{head}'variable', w.name, {_shared(r)}, {NO_DAY}, {sign} FROM ({keys}) k, "
            f"variables w WHERE w.dataset_id = new.id AND {_shared('old')} <> {_shared('new')};"
        )
    return "\n".join(moves)


def _differ(dialect: str) -> str:
    return "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"


def _changed(dialect: str, columns: tuple[str, ...]) -> str:
    return " OR ".join(f"old.{c} {_differ(dialect)} new.{c}" for c in columns)


def _variable_key_statements(dialect: str, r: str, sign: int) -> str:
    """`_variable_key_rows`, after locking the dataset row on PostgreSQL (as `_variable_rows`)."""
    lock = (
        f"PERFORM 1 FROM datasets d WHERE d.id = {r}.dataset_id FOR NO KEY UPDATE;\n"
        if dialect == "postgresql"
        else ""
    )
    return lock + _variable_key_rows(dialect, r, sign)


_ROW_LIST = ", ".join(ROW_COLUMNS)
_ROW_EVENTS = {
    "INSERT": f"INSERT INTO facet_rows ({_ROW_LIST}) "
    f"VALUES ({', '.join(f'new.{c}' for c in ROW_COLUMNS)});",
    "UPDATE": "UPDATE facet_rows SET "
    f"{', '.join(f'{c} = new.{c}' for c in ROW_COLUMNS)} WHERE id = old.id;",
    "DELETE": "DELETE FROM facet_rows WHERE id = old.id;",
}
"""A dataset row's narrow copy: written with it, rewritten only when a copied column
changed (`_WHEN`), deleted with it."""


ROWS = "facet_rows_datasets"
VARIABLE_ROWS = "facet_rows_variables"
"""PostgreSQL: the statement triggers on `variables` that keep the facet rows' variable
names and keys (`_array_refresh`)."""
_TRANSITIONS = {
    "INSERT": ("REFERENCING NEW TABLE AS new_rows", "SELECT dataset_id FROM new_rows"),
    "UPDATE": (
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT dataset_id FROM old_rows UNION SELECT dataset_id FROM new_rows",
    ),
    "DELETE": ("REFERENCING OLD TABLE AS old_rows", "SELECT dataset_id FROM old_rows"),
}


def _arrays(d: str) -> tuple[str, str]:
    """The variable names and the filter keys of the dataset `d`.id, as the facet rows hold
    them (PostgreSQL)."""
    keys = _variable_keys("w", "FROM variables w", f"w.dataset_id = {d}.id")
    return (
        f"ARRAY(SELECT w.name FROM variables w WHERE w.dataset_id = {d}.id ORDER BY w.id)::text[]",
        f"ARRAY(SELECT q.k FROM ({keys}) q ORDER BY q.k)::text[]",
    )


def _array_refresh(changed: str) -> str:
    """Recompute the variable arrays of the datasets whose variables a statement changed
    (`changed`: their ids, from its transition tables), once per dataset and statement;
    a row whose arrays come out the same is not rewritten. The dataset rows are locked
    already (`_variable_key_statements`, before each variable row), and each statement of
    a trigger function reads a fresh snapshot, so a concurrent writer's variables are in."""
    names, keys = _arrays("d")
    return (
        "UPDATE facet_rows f SET variable_names = c.names, variable_keys = c.keys FROM "
        f"(SELECT d.id, {names} AS names, {keys} AS keys FROM "
        f"(SELECT DISTINCT x.dataset_id AS id FROM ({changed}) x) d) c WHERE f.id = c.id "
        "AND (f.variable_names IS DISTINCT FROM c.names "
        "OR f.variable_keys IS DISTINCT FROM c.keys);"
    )


def _trigger_sets(dialect: str, rows: bool = True) -> dict[str, tuple[str, dict[str, str]]]:
    """Per trigger set (its triggers' and function's name): its table, and per event the body
    (`rows`: with the facet rows' set, which migrations before 0029 have no table for)."""
    facet_rows = {ROWS: ("datasets", _ROW_EVENTS)} if rows else {}
    return facet_rows | {
        "facet_tallies_datasets": (
            "datasets",
            {
                "INSERT": _dataset_inserts(dialect, "new", 1),
                "UPDATE": _dataset_update(dialect),
                "DELETE": _dataset_delete(dialect),
            },
        ),
        "facet_tallies_variables": ("variables", _row_events(dialect, _variable_rows)),
        "facet_keys_variables": ("variables", _row_events(dialect, _variable_key_statements)),
    }


def _row_events(dialect: str, rows: Callable[[str, str, int], str]) -> dict[str, str]:
    """Per event, the body of a variable trigger made of `rows(dialect, row, sign)`: an
    insert adds the new row, a delete takes the old one away, an update does both."""
    return {
        "INSERT": rows(dialect, "new", 1),
        "UPDATE": rows(dialect, "old", -1) + "\n" + rows(dialect, "new", 1),
        "DELETE": rows(dialect, "old", -1),
    }


_WHEN = {
    "facet_rows_datasets": ROW_COLUMNS,
    "facet_tallies_datasets": WATCHED,
    "facet_tallies_variables": ("name", "dataset_id"),
    "facet_keys_variables": ("name", "name_key", "original_name", "dataset_id"),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")
TRIGGERS = tuple(f"{name}_{event.lower()}" for name in _WHEN for event in EVENTS)


def _timing(dialect: str, name: str, event: str) -> str:
    """When a trigger runs. The datasets' delete runs before (it deletes the variables while
    their dataset still tells their class). The variable keys' triggers run on each row
    before the next one on both databases: SQLite runs a row's AFTER trigger at once, but
    PostgreSQL runs them all after the statement, when every row of a multi-row insert
    would already be there, so there they run BEFORE (which sees the rows handled earlier
    in the same statement, not the row itself: `_variable_key_rows` leaves it out anyway)."""
    if name == "facet_tallies_datasets" and event == "DELETE":
        return "BEFORE"
    if name == "facet_keys_variables" and dialect == "postgresql":
        return "BEFORE"
    return "AFTER"


PAUSES = FacetTallyPause.__tablename__
_PAUSED = f"EXISTS (SELECT 1 FROM {PAUSES} p WHERE p.dataset_id = new.id)"
"""A dataset row whose update a bulk writer tallies itself (`tallies_paused`)."""


def create_triggers(conn: Connection, rows: bool = True, pauses: bool = True) -> None:
    """Create the triggers that keep the tallies and (`rows`) the facet rows (migrations;
    bulk loaders); `pauses`: a dataset's update tallies nothing while it is paused
    (`tallies_paused`; migrations before 0030 have no table for it)."""
    dialect = conn.dialect.name
    for name, (table, events) in _trigger_sets(dialect, rows).items():
        paused = pauses and name == "facet_tallies_datasets"
        if dialect == "postgresql":
            branches = "\n".join(
                f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{event}' THEN\n"
                + (f"IF NOT {_PAUSED} THEN\n{body}\nEND IF;" if paused and event == "UPDATE"
                   else body)
                for i, (event, body) in enumerate(events.items())
            )  # fmt: skip
            # A BEFORE trigger must hand the row on (an AFTER trigger's result is ignored).
            conn.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION fieldcat_{name}() RETURNS trigger "
                    f"AS $$\nBEGIN\n{branches}\nEND IF;\n"
                    "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\nRETURN NEW;\n"
                    "END $$ LANGUAGE plpgsql"
                )
            )
        for event, body in events.items():
            when = ""
            if event == "UPDATE":
                when = f" WHEN ({_changed(dialect, _WHEN[name])})"
                if paused and dialect != "postgresql":  # PostgreSQL: no subquery in WHEN
                    when = f" WHEN ({_changed(dialect, _WHEN[name])}) AND NOT {_PAUSED}"
            head = (
                f"CREATE TRIGGER {name}_{event.lower()} {_timing(dialect, name, event)} {event} "
                f"ON {table}"
            )
            if dialect == "postgresql":
                action = f"EXECUTE FUNCTION fieldcat_{name}()"
                conn.execute(text(f"{head} FOR EACH ROW{when} {action}"))
            else:
                conn.execute(text(f"{head} FOR EACH ROW{when} BEGIN\n{body}\nEND"))
    if dialect == "postgresql" and rows:
        _create_array_triggers(conn)


def _create_array_triggers(conn: Connection) -> None:
    """PostgreSQL: the statement triggers keeping the facet rows' variable arrays (a
    statement adding a dataset's hundred variables recomputes its arrays once)."""
    branches = "\n".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{event}' THEN\n{_array_refresh(changed)}"
        for i, (event, (_, changed)) in enumerate(_TRANSITIONS.items())
    )
    conn.execute(
        text(
            f"CREATE OR REPLACE FUNCTION fieldcat_{VARIABLE_ROWS}() RETURNS trigger AS $$\n"
            f"BEGIN\n{branches}\nEND IF;\nRETURN NULL;\nEND $$ LANGUAGE plpgsql"
        )
    )
    for event, (referencing, _) in _TRANSITIONS.items():
        conn.execute(
            text(
                f"CREATE TRIGGER {VARIABLE_ROWS}_{event.lower()} AFTER {event} ON variables "
                f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION fieldcat_{VARIABLE_ROWS}()"
            )
        )


def drop_triggers(conn: Connection) -> None:
    """Drop the triggers (a bulk loader does, then `rebuild_tallies`, then `create_triggers`)."""
    tables = {name: table for name, (table, _) in _trigger_sets(conn.dialect.name).items()}
    if conn.dialect.name == "postgresql":
        tables[VARIABLE_ROWS] = "variables"
    for name, table in tables.items():
        for event in EVENTS:
            suffix = f" ON {table}" if conn.dialect.name == "postgresql" else ""
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}_{event.lower()}{suffix}"))


def drop_trigger_functions(conn: Connection) -> None:
    """Drop the PostgreSQL trigger functions (a downgrade, after `drop_triggers`)."""
    if conn.dialect.name == "postgresql":
        for name in (*_WHEN, VARIABLE_ROWS):
            conn.execute(text(f"DROP FUNCTION IF EXISTS fieldcat_{name}()"))


def rebuild_tallies(conn: Connection, rows: bool = True) -> None:
    """Count every facet afresh from the tables, and (`rows`) copy the facet rows afresh
    (after a migration or a bulk load).

    Writers are held off meanwhile (PostgreSQL: a SHARE lock on both tables; SQLite: the
    write lock the first DELETE takes)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE datasets, variables IN SHARE MODE"))
    conn.execute(text("DELETE FROM facet_tallies"))
    conn.execute(text("DELETE FROM facet_pair_tallies"))
    if rows:
        _copy_rows(conn)
    for statement in _counts(conn.dialect.name, 1):
        conn.execute(text(statement))


_DATASET_COLUMN = re.compile(r"\bd\.(\w+)")
"""A dataset column named in a count's SQL (the dataset row is `d` in every count)."""


def _counts(dialect: str, sign: int, scope: str | None = None,
            columns: frozenset[str] | None = None) -> list[str]:  # fmt: skip
    """The statements appending the tallies of the datasets whose ids `scope` selects (SQL;
    None: every dataset), counted afresh from their rows and their variables' and signed:
    `sign` 1 adds them, -1 takes them away. Every count is over rows of one dataset each, so
    the counts of a part of the catalog are exactly what its rows' triggers appended.

    `columns`: only the counts that read one of these dataset columns (the others would be
    taken away and added back unchanged around an update of these columns alone)."""
    where = "1 = 1" if scope is None else f"d.id IN ({scope})"
    release = _release(dialect, "d")
    keys = _variable_keys(
        "v", "FROM variables v", "1 = 1" if scope is None else f"v.dataset_id IN ({scope})",
        lead="v.dataset_id, ",
    )  # fmt: skip
    datasets, variables = (
        "datasets d",
        "variables v JOIN datasets d ON d.id = v.dataset_id",
    )
    # Per pass: the leading columns, the GROUP BY positions of the key, value and class,
    # and the rows the dataset facets and the variable facet are counted over: the
    # unfiltered tallies, one pass per dataset filter, and the variable filter's keys.
    tables = [("facet_tallies", COLUMNS, [("", "2, 3", datasets, variables)])]
    pairs = [
        (f"'{by}', {key.format(r='d')}, {day.format(r='d')}, ", "2, 3, 5, 6", datasets, variables)
        for by, key, day in _by_keys(dialect)
    ]
    pairs.append(
        (
            f"'{VARIABLE}', k.k, {NO_DAY}, ",
            "2, 3, 5, 6",
            f"({keys}) k JOIN datasets d ON d.id = k.dataset_id",
            f"({keys}) k JOIN variables v ON v.dataset_id = k.dataset_id "
            "JOIN datasets d ON d.id = k.dataset_id",
        )
    )
    tables.append(("facet_pair_tallies", PAIR_COLUMNS, pairs))
    statements = []
    for table, names, passes in tables:
        parts = []
        n = f"{sign} * count(*)"
        for lead, group, dataset_rows, variable_rows in passes:
            day = int(group[-1]) + 1  # the access facet groups by the release day too
            parts += [
                f"SELECT {lead}'{name}', {expr.format(r='d')}, {_shared('d')}, {NO_DAY}, "
                f"{n} FROM {dataset_rows} WHERE {where} GROUP BY {group}"
                for name, expr in _FACETS
            ]
            parts.append(
                f"SELECT {lead}'access', d.access_state, {_shared('d')}, {release}, {n} "
                f"FROM {dataset_rows} WHERE {where} GROUP BY {group}, {day}"
            )
            parts.append(
                f"SELECT {lead}'variable', v.name, {_shared('d')}, {NO_DAY}, {n} "
                f"FROM {variable_rows} WHERE {where} GROUP BY {group}"
            )
        if columns is not None:
            parts = [part for part in parts if columns & set(_DATASET_COLUMN.findall(part))]
        if parts:
            statements.append(f"INSERT INTO {table} ({names}) " + " UNION ALL ".join(parts))
    return statements


@contextmanager
def tallies_paused(session: Session, ids: list[int], columns: Collection[str]) -> Iterator[None]:
    """Update many datasets (these ids) inside the block without their triggers' tallies:
    their tallies are taken away before it and added back after it, counted afresh from the
    rows, two set-based statements each. A dataset's update appends well over a hundred
    tally rows through its trigger (its facets under every filter, and under every key its
    variables carry); a bulk change (a hand-over's change of origin) appends the grouped
    counts instead: for many datasets alike, about as many rows as one dataset's trigger.

    `columns`: the dataset columns the block changes. Only the counts that read one of them
    are taken away and added back (a change of origin recounts the center facet and the
    center filter's pairs, about a fifth of the counts); the block changing another column
    a tally reads is refused when it ends (RuntimeError), its tallies would be wrong. With
    no column a tally reads, nothing is paused: the triggers run as usual.

    Inside the block only these datasets' own rows may change: their variables' triggers
    still run (an insert, delete or move of one of their variables must come before or
    after the block). The caller's transaction covers it all; on PostgreSQL the rows are
    locked first, so a concurrent writer of one of them waits and tallies after it. If the
    block fails, the tallies are counted back as the rows then stand (SQLite keeps a
    transaction whose statement failed; a PostgreSQL transaction in error rolls back)."""
    chosen = sorted(set(ids))
    counted = frozenset(columns) & frozenset(WATCHED)
    if not chosen or not counted:  # no tally reads what changes: nothing to pause
        yield
        return
    if session.scalar(select(func.count()).select_from(FacetTallyPause)):
        raise RuntimeError("the tallies are paused already in this transaction")
    dialect = session.get_bind().dialect.name
    session.execute(insert(FacetTallyPause), [{"dataset_id": i} for i in chosen])
    scope = f"SELECT dataset_id FROM {PAUSES}"
    if dialect == "postgresql":  # before the rows are read: a writer of one waits for us
        session.execute(text(f"SELECT id FROM datasets WHERE id IN ({scope}) FOR NO KEY UPDATE"))
    for statement in _counts(dialect, -1, scope, counted):
        session.execute(text(statement))

    def resume() -> None:
        for statement in _counts(dialect, 1, scope, counted):
            session.execute(text(statement))
        session.execute(delete(FacetTallyPause))

    try:
        with _unchanged(session, chosen, frozenset(WATCHED) - counted):
            yield
    except BaseException:
        with suppress(SQLAlchemyError):
            resume()
        raise
    resume()


@contextmanager
def _unchanged(session: Session, ids: list[int], columns: frozenset[str]) -> Iterator[None]:
    """The block must keep these datasets, and these columns of theirs as they were
    (RuntimeError: their tallies would be wrong)."""
    if not ids or not columns:
        yield
        return
    names = sorted(columns)
    table = Dataset.__table__
    query = select(table.c.id, *(table.c[name] for name in names)).where(table.c.id.in_(ids))
    before = {row[0]: row[1:] for row in session.execute(query)}
    yield
    after = {row[0]: row[1:] for row in session.execute(query)}
    if after.keys() != before.keys():
        raise RuntimeError("a dataset whose tallies were paused was deleted in the block")
    changed = {name for i, name in enumerate(names) for key, row in before.items()
               if after[key][i] != row[i]}  # fmt: skip
    if changed:
        raise RuntimeError(f"the block changed {sorted(changed)}, which the tallies read, "
                           "without telling the pause")  # fmt: skip


def _copy_rows(conn: Connection) -> None:
    """The facet rows afresh: each dataset's row, on PostgreSQL with its variable arrays
    (grouped once over the variables, not computed per row)."""
    conn.execute(text("DELETE FROM facet_rows"))
    copied = ", ".join(f"d.{c}" for c in ROW_COLUMNS)
    if conn.dialect.name != "postgresql":
        conn.execute(text(f"INSERT INTO facet_rows ({_ROW_LIST}) SELECT {copied} FROM datasets d"))
        return
    keys = _variable_keys("v", "FROM variables v", lead="v.dataset_id, ")
    conn.execute(
        text(
            f"INSERT INTO facet_rows ({_ROW_LIST}, variable_names, variable_keys) "
            f"SELECT {copied}, n.names, k.keys FROM datasets d "
            "LEFT JOIN (SELECT dataset_id, array_agg(name ORDER BY id) AS names "
            "FROM variables GROUP BY dataset_id) n ON n.dataset_id = d.id "
            "LEFT JOIN (SELECT q.dataset_id, array_agg(q.k ORDER BY q.k) AS keys "
            f"FROM ({keys}) q GROUP BY q.dataset_id) k ON k.dataset_id = d.id"
        )
    )


FOLD_ROWS = 200_000
"""Appended tally rows folded per transaction on SQLite, whose one writer holds everyone
else's writes meanwhile: a fold of the twelve million rows a bulk load of 100,000 datasets
appends took about a minute in one transaction, past every writer's busy timeout."""


def compact_tallies(engine: Engine, window: int = FOLD_ROWS) -> int:
    """Fold the appended rows of both tally tables into one per key (dropping keys that sum
    to zero); how many rows the fold removed (0, writing nothing, when every key has one
    row already). Safe beside concurrent writers on both databases, and never holding them
    up for long: on PostgreSQL one statement a table (writers append beside it), on SQLite
    transactions of at most `window` appended rows (`_fold_windows`)."""
    return _compact(engine, "facet_tallies", COLUMNS, window) + _compact(
        engine, "facet_pair_tallies", PAIR_COLUMNS, window
    )


def _compact(engine: Engine, table: str, columns: str, window: int) -> int:
    keys = columns.removesuffix(", n")
    with engine.connect() as conn:
        rows, distinct, top = conn.execute(
            text(
                f"SELECT coalesce(sum(c), 0), count(*), (SELECT max(id) FROM {table}) FROM "
                f"(SELECT count(*) AS c FROM {table} GROUP BY {keys}) AS k"
            )
        ).one()
    if rows == distinct:
        return 0
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # One statement, one snapshot: exactly the rows deleted are summed; rows
            # appended by transactions that commit meanwhile are left for the next fold.
            conn.execute(
                text(
                    f"WITH gone AS (DELETE FROM {table} RETURNING {columns}) "
                    f"INSERT INTO {table} ({columns}) SELECT {keys}, sum(n) "
                    f"FROM gone GROUP BY {keys} HAVING sum(n) <> 0"
                )
            )
    else:
        _fold_windows(engine, table, columns, int(top), window)
    return int(rows) - int(distinct)


def _fold_windows(engine: Engine, table: str, columns: str, top: int, window: int) -> None:
    """SQLite: fold the rows up to id `top`, `window` rows at a time, each window in a
    transaction of its own: a window's rows and the sums the previous window left are summed
    into new rows and deleted, so the last window's sums hold every key once. The new rows
    of a window are its INSERT's (one writer: consecutive ids, the last `changes()` ending at
    `last_insert_rowid()`); the rows other writers append between windows have higher ids
    and are left for the next fold. Each transaction writes first, so it takes the write
    lock before it reads (no stale snapshot to upgrade)."""
    keys = columns.removesuffix(", n")
    with engine.connect() as conn:  # the windows' last ids, read before any is folded
        ends = conn.execute(
            text(f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS r "
                 f"FROM {table} WHERE id <= :top) AS w WHERE r % :window = 0"),
            {"top": top, "window": window},
        ).scalars().all()  # fmt: skip
    rows = "(id > :start AND id <= :end) OR (id BETWEEN :first AND :last)"
    start, first, last = 0, 0, -1  # no sums carried yet
    for end in dict.fromkeys([*(int(i) for i in ends), top]):  # in order, each once
        bounds = {"start": start, "end": end, "first": first, "last": last}
        with engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {table} ({columns}) SELECT {keys}, sum(n) FROM {table} "
                     f"WHERE {rows} GROUP BY {keys} HAVING sum(n) <> 0"),
                bounds,
            )  # fmt: skip
            made, newest = conn.execute(text("SELECT changes(), last_insert_rowid()")).one()
            conn.execute(text(f"DELETE FROM {table} WHERE {rows}"), bounds)
        start = end
        first, last = (newest - made + 1, newest) if made else (0, -1)
