"""Errors a user can act on. `toaster` prints them as one line and exits non-zero."""


class ToasterError(Exception):
    """A failure with a message meant for the user, and the exit status to report it with."""

    exit_code = 1

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
