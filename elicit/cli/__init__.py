"""The ``elicit`` command line; each submodule registers its commands on ``app`` when first run.

Importing this package (and ``elicit --help``) loads no command module: see
:mod:`elicit.cli.group`.
"""

from elicit.cli.group import app

__all__ = ["app"]
