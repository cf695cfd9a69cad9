"""The one error type for mistakes in a user's input, and how a command turns it into one line of output."""

import sys
from collections.abc import Callable


class UserError(Exception):
    """A mistake in the user's input: reported as one line, without a traceback."""


def run_command(main: Callable[[list[str]], int], argv: list[str], prog: str) -> int:
    """Run a command's ``main(argv)``: a :class:`UserError` becomes one stderr line and exit code 2, Ctrl-C 130."""
    try:
        return main(argv)
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
