"""Writes of campaigns: create, change and delete drafts, and the launch that freezes the members.

A launch, in one transaction: the segment's customers as the launching user sees them, each
one's current scores, a seeded random split into treatment and control within each value class,
the contact budget (``feedback.contact_policy``) over the treatment group, the members and the
contact log written in bulk (``core.bulk``), one audit entry; an email campaign's messages are
queued for the worker in the same transaction. A million members are read and written as
columns (numpy arrays and tuples), never as model instances.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.campaigns.campaign_tasks import campaign_emails_send
from patron.campaigns.channels import preferred_channel_for
from patron.campaigns.models import (
    Campaign,
    CampaignChannel,
    CampaignGroup,
    CampaignMember,
    Segment,
)
from patron.campaigns.selectors import segment_customers
from patron.commerce.models import Product
from patron.core import bulk
from patron.core.audit import audit_bulk, audit_record, diff, snapshot
from patron.core.models import User
from patron.feedback.contact_policy import PERSON_FLAGS, contact_refusals
from patron.feedback.models import ContactLog, ContactPurpose

NAME_MAX = 100
TEXT_MAX = 200
# Rows read and written per batch: memory stays flat whatever the segment's size.
BATCH = 50_000
# SQLite's page cache during a launch (allocated as used): a million members and their indexes
# stay in memory until the commit instead of spilling to the log page by page.
WRITE_CACHE_KIB = 512 * 1024
# Plain strings for the bulk rows (COPY would write an enum's name, not its value).
TREATMENT, CONTROL = str(CampaignGroup.TREATMENT.value), str(CampaignGroup.CONTROL.value)
CAMPAIGN = str(ContactPurpose.CAMPAIGN.value)
# The fields a draft's writer sets; ``name`` alone may change after the launch.
EDITABLE = frozenset({
    "name", "segment_id", "channel", "offer", "offer_product_id", "subject", "message", "starts_on", "ends_on",
    "response_window_days", "control_share", "cost", "use_preferred_channel",
})


def _invalid(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]}, code="invalid")


def _text(value: Any, field_name: str, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise _invalid(field_name, _("This must be text."))
    if required and not text:
        raise _invalid(field_name, _("A campaign needs a name."))
    if limit and len(text) > limit:
        raise _invalid(field_name, _("At most %(n)d characters.") % {"n": limit})
    return text


def _date(value: Any, field_name: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _invalid(field_name, _("A date is required (YYYY-MM-DD)."))
    return value


def _segment(segment_id: Any) -> Segment:
    segment = Segment.objects.filter(pk=segment_id).first() if isinstance(segment_id, int) else None
    if segment is None:
        raise _invalid("segment_id", _("There is no segment %(id)s.") % {"id": segment_id})
    return segment


def _product(product_id: Any) -> Product | None:
    """A cross-sell campaign's product; None clears it."""
    if product_id is None:
        return None
    product = Product.objects.filter(pk=product_id).first() if isinstance(product_id, int) else None
    if product is None:
        raise _invalid("offer_product_id", _("There is no product %(id)s.") % {"id": product_id})
    return product


def _clean(campaign: Campaign, values: Mapping[str, Any]) -> None:
    """Set ``values`` on ``campaign``, each checked; then the rules across fields."""
    for key, value in values.items():
        if key == "name":
            campaign.name = _text(value, "name", required=True, limit=NAME_MAX)
        elif key == "segment_id":
            campaign.segment = _segment(value)
        elif key == "channel":
            if value not in CampaignChannel.values:
                raise _invalid("channel", _("The channel is one of: %(c)s.") % {"c": ", ".join(CampaignChannel.values)})
            campaign.channel = value
        elif key == "use_preferred_channel":
            if not isinstance(value, bool):
                raise _invalid(key, _("This must be true or false."))
            campaign.use_preferred_channel = value
        elif key in ("offer", "subject"):
            setattr(campaign, key, _text(value, key))
        elif key == "offer_product_id":
            campaign.offer_product = _product(value)
        elif key == "message":
            campaign.message = _text(value, key, limit=10_000)
        elif key in ("starts_on", "ends_on"):
            setattr(campaign, key, _date(value, key))
        elif key == "response_window_days":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 365:
                raise _invalid(key, _("The response window is 1 to 365 days."))
            campaign.response_window_days = value
        elif key == "control_share":
            share = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1.0
            # Both groups must be able to hold someone: a share of 0 measures nothing, 1 sends nothing.
            if not 0 < share < 1:
                raise _invalid(key, _("The control share lies strictly between 0 and 1 (e.g. 0.1)."))
            campaign.control_share = share
        elif key == "cost":
            try:
                cost = Decimal(str(value))
            except (InvalidOperation, ValueError):
                cost = Decimal(-1)
            if not cost.is_finite() or cost < 0 or cost >= Decimal(10) ** 12:
                raise _invalid(key, _("The cost is an amount of 0 or more."))
            campaign.cost = cost.quantize(Decimal("0.01"))
    if campaign.ends_on < campaign.starts_on:
        raise _invalid("ends_on", _("The campaign ends on or after the day it starts."))


_LOGGED = ["name", "segment_id", "channel", "use_preferred_channel", "offer", "offer_product_id", "starts_on", "ends_on", "response_window_days",
           "control_share", "cost", "subject", "status"]


def _logged(changes: Mapping[str, Any]) -> dict[str, Any]:
    # A campaign's name names no person: logged as "campaign_name", which the log does not mask.
    return {("campaign_name" if k == "name" else k): v for k, v in changes.items()}


def campaign_create(*, values: Mapping[str, Any], created_by: User | None) -> Campaign:
    """A draft campaign; ``values`` holds at least name, segment_id, channel, starts_on, ends_on."""
    missing = [k for k in ("name", "segment_id", "channel", "starts_on", "ends_on") if values.get(k) in (None, "")]
    if missing:
        raise ValidationError({k: [_("This field is required.")] for k in missing}, code="invalid")
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))}, code="invalid")
    campaign = Campaign(created_by=created_by, starts_on=values["starts_on"], ends_on=values["ends_on"])
    _clean(campaign, values)
    with transaction.atomic():
        campaign.save()
        audit_record("campaign.create", obj=campaign, changes=_logged(snapshot(campaign, _LOGGED)))
    return campaign


def campaign_update(*, campaign: Campaign, changes: Mapping[str, Any]) -> Campaign:
    """Change a draft; a launched campaign's members are frozen, so only its name may change."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="read_only"
        )
    if campaign.status == Campaign.Status.LAUNCHED and set(changes) - {"name"}:
        raise ValidationError(_("This campaign has been launched: only its name can change."), code="launched")
    before = snapshot(campaign, _LOGGED)
    _clean(campaign, changes)
    changed = diff(before, campaign)
    if changed:
        with transaction.atomic():
            campaign.save()
            audit_record("campaign.update", obj=campaign, changes=_logged(changed))
    return campaign


def campaign_delete(*, campaign: Campaign) -> None:
    if campaign.status == Campaign.Status.LAUNCHED:
        raise ValidationError(_("A launched campaign is kept with its members; it cannot be deleted."), code="launched")
    with transaction.atomic():
        audit_record("campaign.delete", obj=campaign, changes=_logged(snapshot(campaign, _LOGGED)))
        campaign.delete()


# ---------------------------------------------------------------- the launch


def split_groups(strata: np.ndarray, control_share: float, seed: int) -> np.ndarray:
    """True where a member goes to control. Within each stratum (value class) of n members,
    ``floor(n * control_share + 0.5)`` chosen at random (half rounds up: 5 of 50 at 0.1, 1 of 5,
    0 of 4); strata in the order of their codes, members in the given order, so the same members
    and seed give the same groups."""
    rng = np.random.default_rng(seed)
    control = np.zeros(len(strata), dtype=bool)
    for code in np.unique(strata):
        where = np.flatnonzero(strata == code)
        k = int(np.floor(len(where) * control_share + 0.5))
        if k:
            control[rng.choice(where, size=k, replace=False)] = True
    return control


@dataclass
class LaunchResult:
    campaign: Campaign
    treatment: int = 0
    control: int = 0
    contacted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> members
    channels: dict[str, int] = field(default_factory=dict)  # channel -> treatment members contacted on it


@dataclass
class _Members:
    """A segment's members as columns, in customer id order."""

    ids: np.ndarray
    strata: np.ndarray  # codes into ``classes``, in sorted order of the value class
    classes: list[str]
    clv: np.ndarray
    churn_risk: np.ndarray
    p_alive: np.ndarray
    rfm: np.ndarray  # str objects
    flags: np.ndarray  # per member, whether each of contact_policy.PERSON_FLAGS is set


def _read_members(user: User, segment: Segment) -> _Members | None:
    """One query over the segment (as ``user`` sees it), read in batches through the driver's
    cursor: the values are only counted, coded or tested for being set, so Django's per-row
    converters are not needed."""
    qs = segment_customers(user, segment.filter).order_by("pk").values_list(
        "pk", "score__value_class", "score__clv", "score__churn_risk", "score__p_alive", "score__rfm_segment",
        *PERSON_FLAGS,
    )
    sql, params = qs.query.sql_with_params()
    ids: list[np.ndarray] = []
    classes: list[Any] = []
    floats: list[list[np.ndarray]] = [[], [], []]
    rfm: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(BATCH):
            cols = list(zip(*chunk, strict=True))
            ids.append(np.array(cols[0], dtype=np.int64))
            classes.extend(cols[1])
            for i, col in enumerate(cols[2:5]):
                floats[i].append(np.array(col, dtype=np.float64))  # None (not scored yet) -> NaN
            rfm.append(np.array([v or "" for v in cols[5]], dtype=object))
            # Truth of each value: a set field is a non-empty text, a true flag, a moment.
            flags.append(np.array(cols[6:], dtype=object).astype(bool).T)
    if not ids:
        return None
    # Strata coded in the sorted order of the value class, so the split does not depend on which
    # class the first member happens to have.
    names = sorted({c or "" for c in classes})
    code = {name: i for i, name in enumerate(names)}
    strata = np.fromiter((code[c or ""] for c in classes), dtype=np.int32, count=len(classes))
    return _Members(
        ids=np.concatenate(ids), strata=strata, classes=names, clv=np.concatenate(floats[0]),
        churn_risk=np.concatenate(floats[1]), p_alive=np.concatenate(floats[2]), rfm=np.concatenate(rfm),
        flags=np.concatenate(flags),
    )


def _check_launchable(campaign: Campaign) -> Segment:
    if campaign.status == Campaign.Status.LAUNCHED:
        raise ValidationError(_("This campaign has already been launched."), code="already_launched")
    if not 0 < campaign.control_share < 1:
        raise _invalid("control_share", _("The control share lies strictly between 0 and 1 (e.g. 0.1)."))
    if campaign.channel not in CampaignChannel.values:
        raise _invalid("channel", _("The channel is one of: %(c)s.") % {"c": ", ".join(CampaignChannel.values)})
    if campaign.ends_on < campaign.starts_on:
        raise _invalid("ends_on", _("The campaign ends on or after the day it starts."))
    if campaign.segment is None:
        raise _invalid("segment_id", _("The campaign's segment has been deleted; choose another."))
    return campaign.segment


def campaign_launch(*, campaign: Campaign, user: User, seed: int | None = None) -> LaunchResult:
    """Freeze the members, split them, apply consent and the contact budget, queue the sending.

    Refused (ValidationError, nothing written or sent): a campaign launched before
    (``already_launched``), a segment with nobody the user sees (``empty_segment``), an invalid
    control share, channel or dates.
    """
    segment = _check_launchable(campaign)
    now = timezone.now()
    with bulk.sqlite_bulk_write(cache_kib=WRITE_CACHE_KIB), transaction.atomic(), bulk.fewer_gc_passes():
        # The row lock (PostgreSQL) or the write lock (SQLite) first: two launches at once
        # cannot both see a draft.
        if not Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DRAFT).update(updated_at=now):
            raise ValidationError(_("This campaign has already been launched."), code="already_launched")
        members = _read_members(user, segment)
        if members is None:
            raise ValidationError(
                _("The segment %(name)s holds none of the customers you see: there is nobody to launch to.")
                % {"name": segment.name},
                code="empty_segment",
            )
        seed = seed if seed is not None else secrets.randbits(62)
        control = split_groups(members.strata, campaign.control_share, seed)
        channel = str(campaign.channel)
        channels, used = _member_channels(campaign, members.ids)
        refused: dict[int, str] = {}
        for ch in used:
            # Each channel's budget over the treatment members reached on it.
            on = ~control & (channels == ch)
            refused.update(contact_refusals(members.ids[on], members.flags[on], channel=ch, purpose=CAMPAIGN, now=now))
        result = _write_members(campaign, members, control, refused, channels=channels, used=used, now=now)
        campaign.status = Campaign.Status.LAUNCHED
        campaign.seed = seed
        campaign.launched_at = now
        campaign.launched_by = user
        campaign.launch_counts = {
            "members": result["treatment"] + result["control"], "treatment": result["treatment"],
            "control": result["control"], "contacted": result["contacted"], "skipped": result["skipped"],
            "channels": result["channels"],
        }
        campaign.save(update_fields=["status", "seed", "launched_at", "launched_by", "launch_counts", "updated_at"])
        audit_bulk(
            "campaign.launch", object_type="campaignmember", ids=result.pop("ids"),
            details={"campaign_id": campaign.pk, "campaign_name": campaign.name, "seed": seed, "channel": channel,
                     "use_preferred_channel": campaign.use_preferred_channel,
                     "treatment": result["treatment"], "control": result["control"],
                     "contacted": result["contacted"], "skipped": result["skipped"], "channels": result["channels"]},
        )
        if result["channels"].get(str(CampaignChannel.EMAIL.value)):
            campaign_emails_send.enqueue(campaign.pk)
    return LaunchResult(campaign=campaign, **result)


def _member_channels(campaign: Campaign, ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each member's channel, and the channels used (sorted): the campaign's, or with
    ``use_preferred_channel`` each customer's preferred one (``campaigns.channels``; the campaign's
    where a customer has no history). Control members get theirs too, so the report can compare
    like with like per channel."""
    out = np.full(len(ids), str(campaign.channel), dtype=object)
    if not campaign.use_preferred_channel:
        return out, [str(campaign.channel)]
    chosen = preferred_channel_for(ids.tolist(), str(campaign.channel))
    out[:] = [chosen[i] for i in ids.tolist()]
    return out, sorted(set(chosen.values()))


def _write_members(
    campaign: Campaign, m: _Members, control: np.ndarray, refused: dict[int, str], *, channels: np.ndarray,
    used: list[str], now: datetime,
) -> dict[str, Any]:
    """The members and the contact log, built column by column and written in batches. With one
    channel (``used``), it is a constant of every row rather than a column bound row by row."""
    n = len(m.ids)
    member_ids = bulk.allocate_ids(CampaignMember, n)
    reasons = np.full(n, "", dtype=object)
    if refused:
        # Members are in customer id order: each refused id's row by binary search.
        where = np.searchsorted(m.ids, np.fromiter(refused.keys(), dtype=np.int64, count=len(refused)))
        reasons[where] = list(refused.values())
    contacted = ~control & (reasons == "")
    # Mail: the mailing file is the sending, so its members count as contacted at the launch;
    # email is marked when the server takes the message, a call when the rep records it.
    columns = {
        "id": member_ids,
        "customer": m.ids.tolist(),
        "group": np.where(control, CONTROL, TREATMENT).tolist(),
        "value_class": np.array(m.classes, dtype=object)[m.strata].tolist(),
        "clv": _nullable(m.clv),
        "churn_risk": _nullable(m.churn_risk),
        "p_alive": _nullable(m.p_alive),
        "rfm_segment": m.rfm.tolist(),
        "contacted": contacted.tolist(),
        "skipped_reason": reasons.tolist(),
    }
    constants: dict[str, Any] = {"campaign": campaign.pk, "responded_at": None,
                                 "response_source": "", "revenue": 0, "margin": 0}
    single = len(used) == 1
    if single:
        constants["channel"] = used[0]
    else:
        columns["channel"] = channels.tolist()
    mail = str(CampaignChannel.MAIL.value)
    mailed = (contacted if used[0] == mail else np.zeros(n, dtype=bool)) if single else contacted & (channels == mail)
    if mailed.any():
        reached_at = np.full(n, None, dtype=object)
        reached_at[mailed] = now
        columns["contacted_at"] = reached_at.tolist()
    else:
        constants["contacted_at"] = None
    logged = m.ids[contacted].tolist()
    logged_channels = [] if single else channels[contacted].tolist()
    for start in range(0, n, BATCH):
        parts = [values[start : start + BATCH] for values in columns.values()]
        bulk.insert(CampaignMember, list(columns), list(zip(*parts, strict=True)), constants=constants)
    log_constants = {"contact": None, "purpose": CAMPAIGN, "ref": f"campaign:{campaign.pk}", "contacted_at": now}
    if single:
        log_constants["channel"] = used[0]
    for start in range(0, len(logged), BATCH):
        if single:
            rows: list[tuple[Any, ...]] = [(pk,) for pk in logged[start : start + BATCH]]
        else:
            rows = list(zip(logged[start : start + BATCH], logged_channels[start : start + BATCH], strict=True))
        bulk.insert(ContactLog, ["customer"] if single else ["customer", "channel"], rows, constants=log_constants)
    labels, counts = np.unique(reasons[reasons != ""].astype(str), return_counts=True)
    n_control = int(control.sum())
    return {"ids": member_ids, "treatment": n - n_control, "control": n_control, "contacted": len(logged),
            "skipped": {str(k): int(v) for k, v in zip(labels, counts, strict=True)},
            "channels": ({used[0]: len(logged)} if single and logged else dict(sorted(Counter(logged_channels).items())))}


def _nullable(values: np.ndarray) -> list[float | None]:
    """Floats with NaN (no score) as None, for the database's NULL."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def campaign_member_mark_called(*, member: CampaignMember, user: User) -> CampaignMember:
    """A rep records the call to a treatment member of a phone campaign (once)."""
    if member.group != CampaignGroup.TREATMENT or not member.contacted:
        raise ValidationError(_("Only a treatment member cleared for contact is called."), code="not_callable")
    if member.contacted_at is not None:
        return member
    with transaction.atomic():
        member.contacted_at = timezone.now()
        member.save(update_fields=["contacted_at"])
        audit_record(
            "campaign.call", obj=member, customer_id=member.customer_id,
            changes={"campaign_id": member.campaign_id, "contacted_at": member.contacted_at},
        )
    return member
