"""The `tradesim` command line (entry point `tradesim.cli:main`)."""

from tradesim.cli.main import main

__all__ = ["main"]
