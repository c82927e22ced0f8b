"""A hand-over's import of a record this center already mirrors: the mirror's rows are made
the handed-over record in place, not deleted and inserted again.

The receiving center usually mirrors every record it takes over, often at the very version
handed over. Deleting a mirror and inserting the record anew rewrites the dataset row, every
variable and version row, and runs the search and facet triggers of each twice (the delete
and the insert); in place, the dataset row gets only the columns that differ (a handful: the
origin, its version, the fields that never travel to a mirror), and a mirror's variables and
versions are kept when they are the handed-over ones (replaced otherwise).

The outcome is the one a delete and an insert would give, row for row, but for what this
center's people asked of the record (`KEPT`): every other row that belonged to the mirror (a
cached derived file, a link, a DOI...) goes as the foreign keys' `ON DELETE` rules would take
it (`detach`, read from the tables' own foreign keys, so a table added later is covered), and
the record keeps its id (and, where kept, its versions' ids).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from catalog.dataset_writes import DATASETS, VARIABLES, VERSIONS
from catalog.facet_triggers import tallies_paused
from catalog.handover_rows import values_of
from catalog.model_base import Base
from catalog.models import Dataset, DatasetVersion, Variable

CHILDREN = ((VARIABLES, "variables"), (VERSIONS, "versions"))
"""The child tables compared and kept when equal (with the `Target` field holding their
rows); every other row that names the dataset is detached."""


@dataclass(frozen=True)
class Target:
    """A handed-over dataset as it must stand here: its row (without an id), variables and
    versions (without their ids and dataset id)."""

    row: dict[str, Any]
    variables: list[dict[str, Any]]
    versions: list[dict[str, Any]]


def target_of(item: dict[str, Any], overrides: dict[str, Any]) -> Target:
    """The rows a manifest's dataset item becomes here, with this center's `overrides`
    (origin, version, campaign)."""
    row = values_of(Dataset, item["row"]) | overrides
    return Target(
        row=row,
        variables=[values_of(Variable, v) for v in item["variables"]],
        versions=[values_of(DatasetVersion, v) for v in item["versions"]],
    )


def _columns(table: Table, names: set[str]) -> list[Any]:
    return [c for c in table.columns if c.key in names]


def _children(session: Session, table: Table, ids: list[int],
              keys: set[str]) -> dict[int, list[dict[str, Any]]]:  # fmt: skip
    """Each dataset's rows of `table` (in id order), as the columns `keys` hold them."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    columns = [table.c.dataset_id, table.c.id, *_columns(table, keys)]
    query = select(*columns).where(table.c.dataset_id.in_(ids)).order_by(table.c.id)
    for row in session.execute(query).mappings():
        found[int(row["dataset_id"])].append({k: row[k] for k in keys if k in row})
    return found


def _equal(held: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> bool:
    return len(held) == len(wanted) and all(
        {k: h.get(k) for k in w} == w for h, w in zip(held, wanted, strict=True)
    )


def adopt(session: Session, mirrors: dict[int, Target]) -> None:
    """Make each mirror (by its dataset id) the target record, in place."""
    if not mirrors:
        return
    ids = sorted(mirrors)
    _update_rows(session, mirrors)
    replace: dict[str, list[int]] = {}
    for table, field in CHILDREN:
        wanted = {i: getattr(mirrors[i], field) for i in ids}
        held = _children(
            session, table, ids, {k for rows in wanted.values() for r in rows for k in r}
        )
        replace[field] = [i for i in ids if not _equal(held.get(i, []), wanted[i])]
    detach(session, DATASETS, ids)
    kept = [i for i in ids if i not in set(replace["versions"])]
    if kept:
        query = select(VERSIONS.c.id).where(VERSIONS.c.dataset_id.in_(kept))
        detach(session, VERSIONS, list(session.scalars(query)))
    for table, field in CHILDREN:
        if replace[field]:
            session.execute(delete(table).where(table.c.dataset_id.in_(replace[field])))
            insert_children(session, [(i, mirrors[i]) for i in replace[field]], [(table, field)])


def insert_children(
    session: Session, made: list[tuple[int, Target]], children: Any = CHILDREN
) -> None:
    """Insert each target's rows of the `children` tables (`CHILDREN`) under its dataset id."""
    for table, field in children:
        rows = [r | {"dataset_id": i} for i, target in made for r in getattr(target, field)]
        if rows:
            session.execute(insert(table), rows)


def _update_rows(session: Session, mirrors: dict[int, Target]) -> None:
    """Each mirror's dataset row set to its target: only the columns that differ, in one
    statement per set of differing columns (a trigger on a column then runs only for the
    rows whose column changed)."""
    # The fields that never travel to a mirror (`catalog.handover_rows.SKIP`) start empty,
    # as an inserted record's would.
    blank = {c.key: None for c in DATASETS.columns if c.key == "owner_user_id"}
    wanted = {dataset_id: blank | target.row for dataset_id, target in mirrors.items()}
    keys = {k for row in wanted.values() for k in row}
    query = select(DATASETS.c.id, *_columns(DATASETS, keys)).where(DATASETS.c.id.in_(mirrors))
    held = {int(row["id"]): row for row in session.execute(query).mappings()}
    groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for dataset_id, row in wanted.items():
        differ = {k: v for k, v in row.items() if held[dataset_id][k] != v}
        if differ:
            groups[frozenset(differ)].append(differ | {"b_id": dataset_id})
    changed = [row["b_id"] for rows in groups.values() for row in rows]
    columns = {name for names in groups for name in names}
    with tallies_paused(session, changed, columns):  # counted set-based, not per row
        for names, rows in groups.items():
            statement = (
                update(DATASETS).where(DATASETS.c.id == bindparam("b_id"))
                .values({name: bindparam(name) for name in names})
            )  # fmt: skip
            session.execute(statement, rows)


KEPT = ("dataset_followers", "release_notices")
"""The rows a mirror keeps when it becomes this center's own record: its followers here (the
people waiting to be told when it opens, who should be told by the center that now opens
it) and the releases already announced here (not announced twice). A delete would take
them; a hand-over is no reason for anyone to lose a follow (a choice of this project: the
issue is silent on it)."""


@functools.cache
def _referring(parent: Table) -> list[tuple[Table, Any, str | None]]:
    """Every (table, column, ON DELETE rule) whose foreign key names `parent`'s id, but the
    children `adopt` compares (`CHILDREN`) and the rows it keeps (`KEPT`); read from the
    models once per table."""
    found = []
    for table in Base.metadata.sorted_tables:
        if parent is DATASETS and (
            any(table is kept for kept, _ in CHILDREN) or table.name in KEPT
        ):
            continue
        for fk in table.foreign_keys:
            if fk.column.table is parent and fk.parent.table is table:
                found.append((table, fk.parent, fk.ondelete))
    return found


def _undo(table: Table, column: Any, rule: str | None, part: list[int]) -> Executable:
    """The statement doing to `table`'s rows naming `part` what their `ON DELETE` rule does."""
    if (rule or "").upper() == "CASCADE":
        return delete(table).where(column.in_(part))
    if (rule or "").upper() == "SET NULL":
        return update(table).where(column.in_(part)).values({column.key: None})
    raise RuntimeError(f"{table.name}.{column.name}: no ON DELETE rule to follow")


def detach(session: Session, parent: Table, ids: list[int]) -> None:
    """What deleting these rows of `parent` would do to the rows that name them, done
    without deleting them: `CASCADE` deletes, `SET NULL` clears (nothing else is declared)."""
    referring = _referring(parent)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for table, column, rule in referring:
            statement = _undo(table, column, rule, part)
            session.execute(statement.execution_options(synchronize_session=False))
