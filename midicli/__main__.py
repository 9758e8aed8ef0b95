"""``python -m midicli`` runs the CLI."""

from midicli.cli.main import main

main()
