"""The one exception type for problems the user can fix (bad paths, images, settings)."""


class InputError(ValueError):
    """A user-facing problem; the CLI prints its message as one line and exits non-zero."""
