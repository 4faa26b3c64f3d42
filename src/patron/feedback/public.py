"""Public feedback pages, no login: the answer link from an invitation (/s/i/), the comment on the
thank-you page (/s/r/), a survey's public link and kiosk (/s/<key>/) and unsubscribe (/s/u/)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.core.models import Branch
from patron.customers.models import Contact, Customer
from patron.feedback import links, ratelimit, selectors
from patron.feedback.contact_policy import contact_opt_out
from patron.feedback.models import Channel, Invitation, Question, Response, Survey
from patron.feedback.services import answers, checks


def _language(request: HttpRequest, default: str | None) -> str:
    asked = request.GET.get("lang")
    if asked:
        return checks.language_of(asked)
    return default or checks.language_of(translation.get_language())


def _public(
    request: HttpRequest, template: str, context: dict[str, Any], *, language: str, status: int = 200
) -> HttpResponse:
    with translation.override(language):
        response = render(request, f"feedback/public/{template}", {**context, "language": language}, status=status)
    return _public_headers(response, language)


def _public_headers(response: HttpResponse, language: str) -> HttpResponse:
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _problem(request: HttpRequest, status: int, message: str, *, language: str | None = None) -> HttpResponse:
    return _public(request, "problem.html", {"message": message, "status": status}, language=_language(request, language), status=status)


def _throttled(request: HttpRequest) -> HttpResponse | None:
    if ratelimit.allow(ratelimit.client_address(request)):
        return None
    response = _problem(request, 429, _("Too many answers from your network in a short time. Please wait a minute and try again."))
    response["Retry-After"] = str(ratelimit.retry_after())
    return response


def _too_big(request: HttpRequest) -> HttpResponse | None:
    """Read the form now: a body over Django's upload limit gets a clear 413 instead of an error page."""
    try:
        request.POST  # noqa: B018 - parses the body
    except RequestDataTooBig:
        return _problem(
            request, 413,
            _("What you sent is too large. A comment can have at most %(n)d characters.") % {"n": settings.PATRON_COMMENT_MAX_CHARS},
        )
    return None


def _questions(survey: Survey, language: str) -> tuple[Question | None, list[dict[str, Any]]]:
    """The score question and the others (for the thank-you page), with texts in ``language``."""
    items = list(survey.questions.all())
    first = items[0] if items else None
    others = []
    for q in items[1:]:
        score_range = q.score_range
        others.append(
            {
                "name": f"q{q.position}",
                "position": q.position,
                "text": q.text_for(language),
                "scores": list(range(score_range[0], score_range[1] + 1)) if score_range else None,
            }
        )
    return first, others


def _answers_from(post: Any, survey: Survey) -> dict[str, Any]:
    return {
        str(q.position): post.get(f"q{q.position}", "")
        for q in survey.questions.all()
        if q.position > 1 and post.get(f"q{q.position}", "") != ""
    }


def _thanks_context(survey: Survey, language: str, **values: Any) -> dict[str, Any]:
    _first, others = _questions(survey, language)
    return {
        "survey": survey,
        "title": survey.title_for(language),
        "others": others,
        "comment_max": settings.PATRON_COMMENT_MAX_CHARS,
        "kiosk_url": "",
        "kiosk_reset": settings.PATRON_KIOSK_RESET_SECONDS,
        "message": "",
        "error": "",
        **values,
    }


def _thanks(
    request: HttpRequest, response: Response, *, language: str, kiosk_url: str = "", message: str = "",
    error: str = "", status: int = 200, comment_value: str | None = None,
) -> HttpResponse:
    if not (kiosk_url or message or error or comment_value or response.comment or status != 200 or request.GET.get("b")):
        return _plain_thanks(request, response, language=language)
    return _public(
        request,
        "thanks.html",
        _thanks_context(
            response.survey,
            language,
            response=response,
            comment_url=_comment_url(response),
            comment_value=response.comment if comment_value is None else comment_value,
            kiosk_url=kiosk_url,
            message=message,
            error=error,
        ),
        language=language,
        status=status,
    )


_COMMENT_URLS: dict[str, str] = {}


def _comment_url(response: Response) -> str:
    """The thank-you page's comment form URL, for the response as it stands (the link works once);
    reversed once per script prefix (every click needs one)."""
    prefix = get_script_prefix()
    pattern = _COMMENT_URLS.get(prefix)
    if pattern is None:
        pattern = _COMMENT_URLS[prefix] = reverse("feedback:response-comment", args=["\x02"]).replace("%02", "\x02")
    return pattern.replace("\x02", links.comment_token(response.pk, response.comment_at))


class _Placeholder:
    """Stands for a response on the template rendered once (see _plain_thanks)."""

    score = "\x01score\x01"


_COMMENT_URL = "\x01comment-url\x01"


def _plain_thanks(request: HttpRequest, response: Response, *, language: str) -> HttpResponse:
    """The thank-you page right after a one-click answer (no comment yet, no message).

    Every answer gets it, and it differs between answers only in the score, the comment form's
    signed URL: the template is rendered once per survey and language (kept
    on the survey object, which selectors.survey_for_answers keeps per process and forgets when
    the survey or its questions change) and those two are filled in, escaped as the template
    would escape them.
    """
    survey = response.survey
    pages = survey.__dict__.setdefault("_thanks_pages", {})
    page = pages.get(language)
    if page is None:
        context = _thanks_context(
            survey, language, response=_Placeholder, comment_url=_COMMENT_URL, comment_value=""
        )
        context["language"] = language
        with translation.override(language):
            page = render_to_string("feedback/public/thanks.html", context, request=request)
        pages[language] = page
    url = _comment_url(response)
    content = page.replace(_Placeholder.score, escape(response.score)).replace(_COMMENT_URL, escape(url))
    return _public_headers(HttpResponse(content), language)


def _invitation(request: HttpRequest, token: str) -> Invitation | HttpResponse:
    try:
        pk, nonce = links.parse_answer_token(token)
    except links.BadToken:
        return _problem(request, 403, _("This survey link is not valid. Please use the link exactly as it was sent to you."))
    invitation = selectors.invitation_for_answer(pk)
    if invitation is None or invitation.nonce != nonce:
        return _problem(request, 404, _("This survey link no longer exists."))
    return invitation


@require_GET
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation email. With ``score=N`` a plain GET records the answer."""
    if (limited := _throttled(request)) is not None:
        return limited
    found = _invitation(request, token)
    if isinstance(found, HttpResponse):
        return found
    invitation = found
    survey = invitation.survey
    language = _language(request, invitation.language)
    raw = request.GET.get("score")
    if raw is None:
        if invitation.answered_at is not None:  # back to an answered link: the thank-you page
            existing = Response.objects.filter(invitation=invitation).first()
            if existing is not None:
                existing.survey = survey
                return _thanks(request, existing, language=language)
        if invitation.answered_at is None and invitation.expires_at <= timezone.now():
            return _problem(request, 410, str(checks.InvitationExpiredError().message), language=language)
        first, _others = _questions(survey, language)
        low, high = survey.score_range
        return _public(
            request,
            "question.html",
            {
                "title": survey.title_for(language),
                "question": first.text_for(language) if first else "",
                "score_links": [(n, f"?{urlencode({'score': n})}") for n in range(low, high + 1)],
                "survey": survey,
            },
            language=language,
        )
    try:
        response, _created = answers.response_record(
            invitation=invitation, score=raw, source_ip_hash=ratelimit.address_hash(ratelimit.client_address(request))
        )
    except checks.InvalidScoreError as exc:
        return _problem(request, 400, exc.messages[0], language=language)
    except checks.AlreadyAnsweredError as exc:
        return _problem(request, 409, exc.messages[0], language=language)
    except checks.InvitationExpiredError as exc:
        return _problem(request, 410, exc.messages[0], language=language)
    except checks.SurveyClosedError as exc:
        return _problem(request, 410, exc.messages[0], language=language)
    response.survey = survey
    return _thanks(request, response, language=language)


@csrf_exempt  # the signed, expiring token in the URL is what authorises the post (see links)
@require_POST
def response_comment(request: HttpRequest, token: str) -> HttpResponse:
    """The thank-you page's form: add or change the comment (and the other questions' answers).

    No CSRF cookie: a forged cross-site post would need the respondent's secret token, and
    leaving the cookie out spares every one-click answer a random token and a Set-Cookie.
    """
    if (limited := _throttled(request)) is not None:
        return limited
    if (too_big := _too_big(request)) is not None:
        return too_big
    try:
        pk, version = links.parse_comment_token(token)
    except links.TokenExpired:
        return _problem(request, 410, _("This page has expired; open the link from your email again to change your comment."))
    except links.BadToken:
        return _problem(request, 403, _("This form is not valid."))
    response = Response.objects.select_related("survey").filter(pk=pk).first()
    if response is None:
        raise Http404
    language = _language(request, response.language)
    if links.comment_version(response.comment_at) != version:
        return _problem(request, 410, str(checks.CommentChangedError().message), language=language)
    kiosk_url = request.POST.get("kiosk", "")
    kiosk_url = kiosk_url if kiosk_url.startswith("/s/") else ""
    try:
        answers.response_update_comment(
            response=response, comment=request.POST.get("comment", ""), answers=_answers_from(request.POST, response.survey)
        )
    except checks.CommentChangedError as exc:  # the same form sent twice at once: the other won
        return _problem(request, 410, exc.messages[0], language=language)
    except ValidationError as exc:
        # Nothing is stored; the text comes back so the respondent can shorten it.
        return _thanks(
            request, response, language=language, kiosk_url=kiosk_url, error=" ".join(exc.messages), status=400,
            comment_value=request.POST.get("comment", "")[: settings.PATRON_COMMENT_MAX_CHARS * 2],
        )
    if kiosk_url:
        return _public(
            request, "kiosk_done.html", {"kiosk_url": kiosk_url, "kiosk_reset": settings.PATRON_KIOSK_RESET_SECONDS}, language=language
        )
    return _thanks(request, response, language=language, message=_("Thank you, your comment is saved."))


def _survey_by_key(key: str) -> Survey:
    survey = Survey.objects.filter(public_key=key).first()
    if survey is None:
        raise Http404
    return survey


def _branch(request: HttpRequest) -> Branch | HttpResponse | None:
    code = request.GET.get("b") or request.POST.get("b") or ""
    if not code:
        return None
    branch = Branch.objects.filter(code=code[:20]).first()
    if branch is None:
        return _problem(request, 404, _("Unknown branch %(code)s in this link.") % {"code": code[:20]})
    return branch


@require_http_methods(["GET", "POST"])
def public(request: HttpRequest, key: str, kiosk: bool = False) -> HttpResponse:
    """The public survey link (invoices, receipts, QR codes) and the kiosk at a branch desk:
    anonymous answers, tagged with the branch given in the link."""
    survey = _survey_by_key(key)
    branch = _branch(request)
    if isinstance(branch, HttpResponse):
        return branch
    language = _language(request, None)
    if not survey.is_active:
        return _problem(request, 410, str(checks.SurveyClosedError().message), language=language)
    first, _others = _questions(survey, language)
    low, high = survey.score_range
    context = {
        "survey": survey,
        "title": survey.title_for(language),
        "question": first.text_for(language) if first else "",
        "scores": list(range(low, high + 1)),
        "branch": branch,
        "kiosk": kiosk,
        "action": request.get_full_path(),
    }
    if request.method == "GET":
        return _public(request, "kiosk.html" if kiosk else "public.html", context, language=language)
    if (limited := _throttled(request)) is not None:
        return limited
    if (too_big := _too_big(request)) is not None:
        return too_big
    try:
        response = answers.response_create(
            survey=survey,
            score=request.POST.get("score", ""),
            channel=Channel.KIOSK if kiosk else Channel.LINK,
            comment=request.POST.get("comment", ""),
            language=language,
            branch=branch,
            source_ip_hash=ratelimit.address_hash(ratelimit.client_address(request)),
        )
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        return _public(request, "kiosk.html" if kiosk else "public.html", context, language=language, status=400)
    return _thanks(request, response, language=language, kiosk_url=request.get_full_path() if kiosk else "")


def kiosk(request: HttpRequest, key: str) -> HttpResponse:
    return public(request, key, kiosk=True)


@csrf_exempt  # RFC 8058 one-click unsubscribe posts from the mail client, without our cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer_id, contact_id = links.parse_unsubscribe_token(token)
    except links.BadToken:
        return _problem(request, 403, _("This unsubscribe link is not valid."))
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return _problem(request, 404, _("This unsubscribe link no longer exists."))
    contact = Contact.objects.filter(pk=contact_id, customer=customer).first() if contact_id else None
    language = _language(request, None)
    if request.method == "POST":
        contact_opt_out(customer=customer, contact=contact, all_email=request.POST.get("all") == "1")
        return _public(request, "unsubscribed.html", {"all": request.POST.get("all") == "1"}, language=language)
    return _public(request, "unsubscribe.html", {"action": request.path}, language=language)
