"""`python -m archive_center` runs the `fieldcat` command."""

from archive_center.cli import main

main()
