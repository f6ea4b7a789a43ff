"""The one error type that user-facing surfaces turn into a clear message."""


class GiocondaError(Exception):
    """Bad input or an unmet precondition, explained in one line for the user.

    The CLI prints ``str(error)`` on stderr and exits with code 2; the server answers
    with HTTP 422. Anything else that escapes is a bug.
    """
