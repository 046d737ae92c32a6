"""The error every campaign service raises for a request it cannot carry out."""


class CampaignError(ValueError):
    """A campaign cannot be made or changed as asked; the message is fit for a user."""
