"""The application's error: services raise it with a message fit to show the user."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the form field the message belongs to, where there is one


class StorageFull(ApplicationError):
    """The server's disk is full: nothing was kept; the same upload works once space is freed."""

    def __init__(self) -> None:
        super().__init__(
            "The server's disk is full, so nothing was stored. Tell the administrator; "
            "upload again once space is freed."
        )
