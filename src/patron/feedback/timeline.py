"""Timeline sources for the 360° page: survey responses, follow-ups and key-account reviews."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from patron.customers.timeline import TimelineEntry, TimelineSource, register
from patron.feedback.models import FollowUp, Response, Review


def _responses(qs: QuerySet[Response]) -> Iterable[TimelineEntry]:
    for r in qs:
        yield TimelineEntry(
            kind="response",
            pk=r.pk,
            at=r.created_at,
            channel="",
            title=_("%(survey)s: score %(score)d (%(class)s)")
            % {"survey": r.survey.name, "score": r.score, "class": r.get_score_class_display()},
            detail=r.comment,
            extra={
                "kind_label": _("Survey response"),
                "channel_label": r.get_channel_display(),
                "status_label": r.get_touchpoint_display(),
                "score": r.score,
                "score_class": r.score_class,
            },
        )


def _follow_ups(qs: QuerySet[FollowUp]) -> Iterable[TimelineEntry]:
    for f in qs:
        if f.closed_at:
            status = _("Closed: %(outcome)s") % {"outcome": f.get_outcome_display()}
        elif f.escalated_at:
            status = _("Escalated")
        else:
            status = _("Open")
        detail = f.action_taken if f.closed_at else ""
        yield TimelineEntry(
            kind="follow_up",
            pk=f.pk,
            at=f.opened_at,
            channel="",
            title=_("Follow-up: %(reason)s") % {"reason": f.reason_label},
            detail=detail,
            url=reverse("feedback:follow-up", args=[f.pk]),
            extra={
                "kind_label": _("Follow-up"),
                "status_label": status,
                "status": "done" if f.closed_at else "open",
                "due_at": f.due_at,
                "assignee": str(f.owner) if f.owner else "",
            },
        )


def _reviews(qs: QuerySet[Review]) -> Iterable[TimelineEntry]:
    for r in qs:
        if r.done_at:
            title = (
                _("Quarterly review %(quarter)s: NPS %(nps)d") % {"quarter": r.quarter, "nps": r.nps}
                if r.nps is not None
                else _("Quarterly review %(quarter)s held") % {"quarter": r.quarter}
            )
        else:
            title = _("Quarterly review %(quarter)s planned") % {"quarter": r.quarter}
        yield TimelineEntry(
            kind="review",
            pk=r.pk,
            at=r.at,
            channel="",
            title=title,
            detail=r.notes,
            url=reverse("feedback:review", args=[r.pk]),
            extra={
                "kind_label": _("Key-account review"),
                "status_label": _("Held") if r.done_at else _("Planned"),
                "assignee": str(r.owner) if r.owner else "",
            },
        )


def register_feedback_sources() -> None:
    register(TimelineSource("response", Response, "created_at", None, _responses, ("survey",)))
    register(TimelineSource("follow_up", FollowUp, "opened_at", None, _follow_ups, ("owner",)))
    register(TimelineSource("review", Review, "at", None, _reviews, ("owner",)))
