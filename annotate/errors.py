"""The error every campaign service raises for a request it cannot carry out."""


class CampaignError(ValueError):
    """A campaign cannot be made or changed as asked; the message is fit for a user."""


class CampaignFieldError(CampaignError):
    """A request refused because of one field (``field``, the form's name for it), named in the message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
