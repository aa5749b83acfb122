"""The command line ``patchnr``: one module per subcommand, each a thin layer over the Python API."""

from patchnr.cli.main import main

__all__ = ["main"]
