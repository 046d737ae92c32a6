"""Signals annotate sends for the layers above it (annotate may not import them).

``rating_changed(sender=Campaign, campaign=...)``: a rating was stored or taken back and its
transaction has committed. The reports' stop-when-settled updater listens (reports.apps).
"""

from django.dispatch import Signal

rating_changed = Signal()
