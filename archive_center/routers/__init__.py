"""The node's HTTP API routers (mounted under `/api/v1`)."""
