"""The ``gioconda`` command: argument parsing, progress bars and error messages, nothing else.

One module per command; each calls the Python API, and a
:class:`~gioconda.errors.GiocondaError` becomes one line on stderr and exit code 2. Flags for
options come from the option dataclasses (:mod:`gioconda.cli.flags`).
"""

from gioconda.cli.app import main, run

__all__ = ["main", "run"]
