"""API tokens: create, list, revoke, and authenticate a bearer token.

A token is ``pat_`` followed by 43 random URL-safe characters (256 bits). It is shown once, when
created; the database keeps only its SHA-256 hash, so a leaked database does not leak usable
tokens. Random tokens of this length need no slow hash: nobody can guess one to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.audit import audit_record
from patron.core.models import ApiToken, User

TOKEN_PREFIX = "pat_"  # noqa: S105 (a marker, not a secret)
# Recording every use would add a write to every request; once a minute is enough to audit.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class UnknownTokenError(ValidationError):
    def __init__(self, token_id: object) -> None:
        super().__init__(_("There is no API token with id %(id)s.") % {"id": token_id}, code="unknown_token")


def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the record and the token, which is never stored."""
    if not user.is_active:
        raise ValidationError(_("%(user)s is not an active user.") % {"user": user.username}, code="inactive_user")
    if len(name) > 100:
        raise ValidationError(_("A token name has at most 100 characters."), code="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], key_hash=_hash(raw))
    audit_record("token.create", obj=token, changes={"user": [None, user.username], "prefix": [None, token.prefix]})
    return token, raw


def token_revoke(*, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None:
        raise UnknownTokenError(token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record("token.revoke", obj=token, changes={"revoked_at": [None, token.revoked_at]})
    return token


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_authenticate(raw: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = _hash(raw)
    token = ApiToken.objects.select_related("user").filter(key_hash=digest, revoked_at__isnull=True).first()
    # The lookup is by hash, so timing reveals nothing about the token; compare anyway.
    if token is None or not hmac.compare_digest(token.key_hash, digest) or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
