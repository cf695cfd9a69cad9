"""The one error type for mistakes in a user's input, shown as one line by the ``navila`` command."""


class UserError(Exception):
    """A mistake in the user's input: reported as one line, without a traceback."""
