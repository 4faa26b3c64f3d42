"""Signed links: answer links in invitations, unsubscribe links, and the thank-you page's form.

An answer token is ``<invitation id>.<nonce>.<signature>`` (HMAC-SHA256 with SECRET_KEY through
django.core.signing, salted per purpose). The nonce is stored on the invitation, so a token can be
revoked by changing it; expiry is the invitation's ``expires_at``, checked on every use.

A comment token is bound to one response as it stands: it carries the response's id and the
time its comment last changed, so it works once (saving the comment changes that time) and the
page after the save carries a new one. The signers are made per call: they read SECRET_KEY then,
never a key captured at import.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from patron.core.base_url import base_url
from patron.feedback.models import Invitation


def _signer(purpose: str) -> signing.Signer:
    return signing.Signer(salt=f"patron.feedback.{purpose}", sep=".", algorithm="sha256")


class BadToken(Exception):
    """The token was not made by this server (edited, truncated or forged)."""


def answer_token(invitation: Invitation) -> str:
    return _signer("answer").sign(f"{invitation.pk}.{invitation.nonce}")


def parse_answer_token(token: str) -> tuple[int, str]:
    """The invitation id and nonce the token carries; BadToken if the signature is wrong."""
    if len(token) > 200:
        raise BadToken(token[:20])
    try:
        value = _signer("answer").unsign(token)
    except signing.BadSignature as exc:
        raise BadToken(token[:20]) from exc
    pk, _, nonce = value.partition(".")
    if not pk.isdigit() or not nonce:
        raise BadToken(token[:20])
    return int(pk), nonce


def unsubscribe_token(customer_id: int, contact_id: int | None = None) -> str:
    return _signer("unsubscribe").sign(f"{customer_id}.{contact_id or 0}")


def parse_unsubscribe_token(token: str) -> tuple[int, int | None]:
    if len(token) > 200:
        raise BadToken(token[:20])
    try:
        value = _signer("unsubscribe").unsign(token)
    except signing.BadSignature as exc:
        raise BadToken(token[:20]) from exc
    customer, _, contact = value.partition(".")
    if not customer.isdigit() or not contact.isdigit():
        raise BadToken(token[:20])
    return int(customer), (int(contact) or None)


def absolute(path: str, request: HttpRequest | None = None) -> str:
    """A link for outside the app (emails, QR codes): the base address + path. The base address
    is PATRON_BASE_URL, else the server's or the request's own (``core.base_url``)."""
    return base_url(request) + path


def answer_url(invitation: Invitation, score: int | None = None, request: HttpRequest | None = None) -> str:
    path = reverse("feedback:answer", args=[answer_token(invitation)])
    return absolute(path + ("?" + urlencode({"score": score}) if score is not None else ""), request)


def unsubscribe_url(customer_id: int, contact_id: int | None = None) -> str:
    return absolute(reverse("feedback:unsubscribe", args=[unsubscribe_token(customer_id, contact_id)]))


def public_url(
    survey_public_key: str, branch_code: str | None = None, *, kiosk: bool = False, request: HttpRequest | None = None
) -> str:
    name = "feedback:kiosk" if kiosk else "feedback:public"
    path = reverse(name, args=[survey_public_key])
    return absolute(path + ("?" + urlencode({"b": branch_code}) if branch_code else ""), request)


# How long the thank-you page's comment form stays usable; an invitation link issues a new one.
COMMENT_TOKEN_SECONDS = 2 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _comment_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt="patron.feedback.comment", sep=".", algorithm="sha256")


def comment_version(comment_at: datetime | None) -> str:
    """The response's comment state a token is bound to: when the comment last changed."""
    if comment_at is None:
        return "0"
    return format((comment_at - _EPOCH) // timedelta(microseconds=1), "x")


def comment_token(response_id: int, comment_at: datetime | None) -> str:
    return _comment_signer().sign(f"{response_id}.{comment_version(comment_at)}")


def parse_comment_token(token: str) -> tuple[int, str]:
    """The response id and comment version; BadToken if forged, TokenExpired if older than
    COMMENT_TOKEN_SECONDS. The caller compares the version with the response's."""
    if len(token) > 200:
        raise BadToken(token[:20])
    try:
        value = _comment_signer().unsign(token, max_age=COMMENT_TOKEN_SECONDS)
    except signing.SignatureExpired as exc:
        raise TokenExpired(token[:20]) from exc
    except signing.BadSignature as exc:
        raise BadToken(token[:20]) from exc
    pk, _, version = value.partition(".")
    if not pk.isdigit() or not version:
        raise BadToken(token[:20])
    return int(pk), version


class TokenExpired(Exception):
    """A genuine token past its lifetime."""
