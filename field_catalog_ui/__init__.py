"""The web pages: module-level routers over `web`'s dependencies, templates, static files."""
