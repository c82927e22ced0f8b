"""Parts of the benchmarks: each measures some of one benchmark's figures and is imported by
the script that prints them (`bench/<name>.py`, whose last line is the JSON summary); a part
prints no summary of its own, except `load_netcdf` and `load_search`, which can run alone as
the `load` benchmark restricted to their figures (`python bench/parts/load_search.py`).

- `access_shared`: the access benchmark's cluster and clients (`bench/access.py`)
- `email_intake`: mail to search (`bench/submissions.py`)
- `field_catalog`: products' convergence and the hand-over (`bench/federation.py`)
- `qc_jobs`: plain procrastinate workers, the job queue's baseline (`bench/qc.py`)
- `search_fulltext`: full-text search and the order's memory (`bench/search.py`)
- `load_netcdf`, `load_search`: NetCDF downloads, derivation and search under load
  (`bench/load.py`)
"""
