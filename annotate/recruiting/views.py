"""The rater's way in: invite links, the crowd entry URL, consent, the practice round, the end page.

Bad links render one clear page with status 404/410 and write nothing. The rating page itself is the
rating loop's; these pages hand over to it once the rater is admitted to the pool.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from annotate.models import Campaign
from annotate.recruiting import links, sessions, steps
from annotate.recruiting.forms import SignupForm
from annotate.recruiting_models import Invite, PracticeAnswer, PracticeItem
from annotate.rendering import render_markdown
from core.backends import BACKEND
from core.roles import is_rater, rater_required


def _problem(request: HttpRequest, message: str, status: int = 410) -> HttpResponse:
    context = {"message": message, "heading": "This link cannot be used", "nothing_created": True}
    return render(request, "annotate/recruiting/problem.html", context, status=status)


def _step_url(campaign: Campaign, step: str) -> str:
    if step == steps.RATE:
        return reverse("annotate:rate", args=[campaign.pk])
    if step == steps.NOT_ENROLLED:
        return reverse("annotate:queue")
    name = {steps.CONSENT: "consent", steps.PRACTICE: "practice", steps.SCREENED_OUT: "finish"}[step]
    return reverse(f"recruiting:{name}", args=[campaign.pk])


def _enrolled_campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign, pk=campaign_id, enrollments__user=request.user)


@login_not_required
@require_http_methods(["GET", "POST"])
@never_cache
def invite(request: HttpRequest, token: str) -> HttpResponse:
    found = Invite.objects.select_related("campaign").filter(token=token).first()
    problem = links.invite_problem(found)
    user = request.user
    already = found is not None and user.is_authenticated and found.enrollments.filter(user=user).exists()
    if problem and not already:
        return _problem(request, problem, status=404 if found is None else 410)
    assert found is not None
    campaign = found.campaign
    signing_up = not user.is_authenticated
    form = SignupForm(request.POST if request.method == "POST" and signing_up else None)
    # A logged-in visitor has no sign-up form: their error is shown on its own (an unbound form
    # takes no errors).
    error = ""
    if request.method == "POST":
        try:
            if not signing_up:
                if not is_rater(user):
                    raise links.LinkError(
                        "This account is not a rater account; log out to sign up as a rater."
                    )
                links.invite_accept(token=token, user=user)  # type: ignore[arg-type]
            elif form.is_valid():
                joined = links.invite_signup(
                    token=token,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
                login(request, joined, backend=BACKEND)
            else:
                raise links.LinkError("")
        except links.LinkError as exc:
            if str(exc) and signing_up:
                form.add_error(None, str(exc))
            error = str(exc)
        else:
            return redirect("recruiting:step", campaign_id=campaign.pk)
    context = {
        "campaign": campaign,
        "form": form,
        "token": token,
        "is_rater": is_rater(user),
        "error": error,
    }
    return render(request, "annotate/recruiting/invite.html", context)


def _entry_problem(request: HttpRequest, exc: links.LinkError) -> HttpResponse:
    if isinstance(exc, links.StudyFull):
        context = {"message": str(exc), "heading": "This study is full", "nothing_created": False}
        return render(request, "annotate/recruiting/problem.html", context, status=410)
    return _problem(request, str(exc), status=400)


@login_not_required
@require_http_methods(["GET", "POST"])
@never_cache
def external_entry(request: HttpRequest, entry_token: str) -> HttpResponse:
    """GET shows a start page and changes nothing (not even who is logged in); POST enters and logs in.

    A link opened by a preview, a prefetch or a logged-in researcher's click must neither create a
    rater nor end someone's session without asking.
    """
    query = request.GET.dict()
    try:
        if request.method == "GET":
            entry = links.external_check(entry_token=entry_token, query=query)
            current = request.user if request.user.is_authenticated else None
            if current is not None and entry.bound is not None and current.pk == entry.bound.user_id:
                current = None  # the participant themself, coming back
            context = {"campaign": entry.recruiting.campaign, "entry": entry, "current": current}
            return render(request, "annotate/recruiting/start.html", context)
        bound = links.external_enter(entry_token=entry_token, query=query)
    except links.LinkError as exc:
        return _entry_problem(request, exc)
    if request.user.is_authenticated and request.user.pk != bound.user_id:
        request.session.flush()
    # The session is the credential: the same external id always logs in the same rater.
    login(request, bound.user, backend=BACKEND)
    return redirect("recruiting:step", campaign_id=bound.campaign_id)


@rater_required
@never_cache
def step(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _enrolled_campaign(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    # A full or closed study, an ended session or nothing left: the end page (checked before
    # consent and practice too, so a latecomer does no work that can earn nothing).
    if sessions.finish_state(campaign=campaign, rater=user).done:
        return redirect("recruiting:finish", campaign_id=campaign.pk)
    now = steps.enrollment_advance(campaign=campaign, rater=user)
    return redirect(_step_url(campaign, now))


@rater_required
@require_http_methods(["GET", "POST"])
@never_cache
def consent(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _enrolled_campaign(request, campaign_id)
    recruiting = steps.recruiting_of(campaign)
    if request.method == "POST":
        if request.POST.get("accept") == "yes":
            steps.consent_accept(campaign=campaign, rater=request.user)  # type: ignore[arg-type]
            return redirect("recruiting:step", campaign_id=campaign.pk)
        return render(request, "annotate/recruiting/declined.html", {"campaign": campaign})
    context = {"campaign": campaign, "consent_html": render_markdown(recruiting.consent_text)}
    return render(request, "annotate/recruiting/consent.html", context)


def _sides(item: PracticeItem) -> tuple[str, str]:
    left, right = (item.text_a, item.text_b) if item.text_on_left == "a" else (item.text_b, item.text_a)
    return render_markdown(left), render_markdown(right)


@rater_required
@require_http_methods(["GET", "POST"])
@never_cache
def practice(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _enrolled_campaign(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    if steps.next_step(campaign=campaign, rater=user) != steps.PRACTICE:
        return redirect("recruiting:step", campaign_id=campaign.pk)
    if request.method == "POST":
        try:
            answer = steps.practice_answer(
                campaign=campaign,
                rater=user,
                item_id=int(request.POST.get("item") or 0),
                side=request.POST.get("side", ""),
            )
        except (ValueError, steps.StepError) as exc:
            return _problem(request, f"That answer was not taken: {exc}", status=400)
        if steps.feedback_open(campaign=campaign, rater=user):
            return redirect("recruiting:feedback", campaign_id=campaign.pk, item_id=answer.item_id)
        # A qualification round: no feedback until the whole round is scored (steps' note).
        if steps.practice_next(campaign=campaign, rater=user) is None:
            return redirect("recruiting:review", campaign_id=campaign.pk)
        return redirect("recruiting:practice", campaign_id=campaign.pk)
    item = steps.practice_next(campaign=campaign, rater=user)
    if item is None:
        return redirect("recruiting:step", campaign_id=campaign.pk)
    score = steps.practice_score(campaign=campaign, rater=user)
    left_html, right_html = _sides(item)
    context = {
        "campaign": campaign,
        "item": item,
        "graded": not steps.feedback_open(campaign=campaign, rater=user),
        "number": score.answered + 1,
        "total": score.total,
        "prompt_html": render_markdown(item.prompt_text),
        # The same Markdown as on the rating page: the practice round shows the real guidelines.
        "instructions_html": render_markdown(campaign.instructions),
        "left_html": left_html,
        "right_html": right_html,
        "sides": [(s, label, key) for (s, label), key in zip(SIDE_LABELS.items(), "1234", strict=True)],
    }
    return render(request, "annotate/recruiting/practice.html", context)


SIDE_LABELS = {"left": "Left is better", "right": "Right is better", "tie": "Tie", "both_bad": "Both bad"}


@rater_required
@require_GET
@never_cache
def feedback(request: HttpRequest, campaign_id: int, item_id: int) -> HttpResponse:
    campaign = _enrolled_campaign(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    if not steps.feedback_open(campaign=campaign, rater=user):
        return redirect("recruiting:step", campaign_id=campaign.pk)
    item = get_object_or_404(PracticeItem, campaign=campaign, pk=item_id, answers__rater=user)
    answer = item.answers.get(rater=user)
    score = steps.practice_score(campaign=campaign, rater=user)
    left_html, right_html = _sides(item)
    context = {
        "campaign": campaign,
        "item": item,
        "answer": answer,
        "yours": SIDE_LABELS[answer.side],
        "expected": SIDE_LABELS[steps.answer_as_side(item)],
        "explanation_html": render_markdown(item.explanation) if item.explanation else "",
        "prompt_html": render_markdown(item.prompt_text),
        "left_html": left_html,
        "right_html": right_html,
        "score": score,
        "last": score.answered >= score.total,
    }
    return render(request, "annotate/recruiting/feedback.html", context)


@rater_required
@require_GET
@never_cache
def review(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """After a qualification round: score it, then show an admitted rater the feedback on every item."""
    campaign = _enrolled_campaign(request, campaign_id)
    user: User = request.user  # type: ignore[assignment]
    now = steps.enrollment_advance(campaign=campaign, rater=user)
    if now != steps.RATE:
        return redirect(_step_url(campaign, now))
    recruiting = steps.recruiting_of(campaign)
    answers = {a.item_id: a for a in PracticeAnswer.objects.filter(rater=user, item__campaign=campaign)}
    rows = []
    for item in steps.practice_items(campaign=campaign, recruiting=recruiting):
        answer = answers.get(item.pk)
        rows.append(
            {
                "item": item,
                "correct": answer is not None and answer.correct,
                "yours": SIDE_LABELS[answer.side] if answer else "no answer",
                "expected": SIDE_LABELS[steps.answer_as_side(item)],
                "explanation_html": render_markdown(item.explanation) if item.explanation else "",
                "prompt_html": render_markdown(item.prompt_text),
            }
        )
    score = steps.practice_score(campaign=campaign, rater=user)
    context = {"campaign": campaign, "rows": rows, "score": score}
    return render(request, "annotate/recruiting/review.html", context)


@rater_required
@require_GET
@never_cache
def finish(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The end page: the code, screened out, study full, or (still going) how to return the study."""
    campaign = _enrolled_campaign(request, campaign_id)
    state = sessions.finish_state(campaign=campaign, rater=request.user)  # type: ignore[arg-type]
    return render(request, "annotate/recruiting/finish.html", {"campaign": campaign, "state": state})
