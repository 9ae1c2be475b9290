"""The one exception type for problems the user can fix (bad paths, images, settings)."""


class InputError(ValueError):
    """A user-facing problem; the CLI prints its message as one line and exits non-zero."""


def require(condition: bool, setting: str, must: str, value: object) -> None:
    """Raise ``InputError("<setting> must be <must>, got <value>")`` unless ``condition``."""
    if not condition:
        raise InputError(f"{setting} must be {must}, got {value}")
