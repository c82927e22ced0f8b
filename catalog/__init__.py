"""FieldCat catalog: the domain of one archive center.

`db` (engines, sessions, migrations), `models` (SQLAlchemy mappings), `schemas` (pydantic
I/O), `access` (the one access policy and its SQL twins), `search` (search, facets, cursors,
single-dataset lookups), `registration` (data files become datasets), `changes` (the change
log peers pull), `storage` (the archive on disk), `errors` (typed domain errors).
"""
