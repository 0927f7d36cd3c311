"""The one exception type for a person's mistakes.

Tools raise `GraftError` with a sentence a person can act on; the command line and the TUI
catch it once, print that sentence and exit with status 2.
"""

from __future__ import annotations


class GraftError(Exception):
    """Bad input or a refused action: the message is shown to the person as is."""

    exit_code = 2
