"""Temporary pages for sections whose issue has not landed yet; each app replaces its own."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.roles import rater_required, researcher_required


@researcher_required
def researcher_placeholder(request: HttpRequest) -> HttpResponse:
    return render(request, "core/placeholder.html")


@rater_required
def rater_placeholder(request: HttpRequest) -> HttpResponse:
    return render(request, "core/placeholder.html")
