"""The ``elicit`` command line; each submodule registers its commands on ``app`` when first run.

Importing this package (and ``elicit --help``) loads no command module: see
:mod:`elicit.cli.lazy`.
"""

from elicit.cli.common import app

__all__ = ["app"]
