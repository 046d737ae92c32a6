"""Campaign fixtures for the site layer's pages."""

from tests.annotate.conftest import _fast_passwords, campaign_factory, make_rater  # noqa: F401
