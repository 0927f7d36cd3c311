"""The one exception type for a person's mistakes.

Tools raise `GraftError` with a sentence a person can act on; the command line and the TUI
catch it once, print that sentence and exit with status 2.
"""

from __future__ import annotations


class GraftError(Exception):
    """Bad input or a refused action: the message is shown to the person as is."""

    exit_code = 2


class GraftFault(Exception):
    """A failure that is not the person's fault (a crashed stage, a killed worker): exit status 1.

    The message is still one readable line that says where the details are.
    """

    exit_code = 1


class GraftCancelled(Exception):
    """The person stopped the run (Ctrl-C, Cancel in the TUI): finished stages are kept; exit status 130.

    Not a GraftError: a cancel is neither bad input nor a fault, and is reported as "cancelled".
    """

    exit_code = 130
