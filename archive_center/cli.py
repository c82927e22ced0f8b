"""The `fieldcat` command: one Typer application assembled from per-topic command modules."""

from __future__ import annotations

import logging

import typer

COMMAND_MODULES = (
    "archive_center.cli_formats",
    "archive_center.cli_node",
    "archive_center.cli_users",
    "archive_center.cli_embargo",
    "archive_center.cli_submit",
    "archive_center.cli_download",
    "archive_center.cli_peers",
    "archive_center.cli_streams",
    "archive_center.cli_handover",
)


def build_cli() -> typer.Typer:
    """Assemble the command-line application (nothing is built at import time)."""
    import importlib

    app = typer.Typer(
        name="fieldcat",
        help="FieldCat: archive and share field-campaign data across data centers.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.register(app)
    return app


def main() -> None:
    """Entry point of the `fieldcat` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    build_cli()()
