"""fieldcat-client: search, subset, download, order and submit FieldCat data from Python.

from fieldcat_client import Center
center = Center("http://127.0.0.1:8101")
for dataset in center.search(variable="O3", start="1999-03-01"):
    frame = dataset.to_pandas(variables=["O3"])
"""

from fieldcat_client.center import (
    Center,
    Dataset,
    FieldCatError,
    search_all,
    sha256_of,
    subset_query,
)

__all__ = ["Center", "Dataset", "FieldCatError", "search_all", "sha256_of", "subset_query"]
