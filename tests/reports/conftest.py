"""Campaign fixtures for the tests that read a real campaign through reports.campaign_records."""

from tests.annotate.conftest import _fast_passwords, campaign_factory, make_rater  # noqa: F401
