"""The ``elicit`` command line; each submodule registers its commands on ``app``."""

from elicit.cli import ask, evaluate, proxy, route, serve  # noqa: F401  (command registration)
from elicit.cli.common import app

__all__ = ["app"]
