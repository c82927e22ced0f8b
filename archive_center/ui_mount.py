"""Hands the web UI the node's own request dependencies, so pages and API resolve alike."""

from __future__ import annotations

from fastapi import APIRouter

from archive_center.deps import get_now, get_principal, get_session, get_settings, get_store


def ui_router() -> APIRouter:
    """The HTML routes of `field_catalog_ui`, wired to this node's dependencies."""
    from field_catalog_ui.deps import UiDeps
    from field_catalog_ui.routes import build_router

    deps = UiDeps(
        session=get_session,
        principal=get_principal,
        now=get_now,
        store=get_store,
        settings=get_settings,
    )
    return build_router(deps)
