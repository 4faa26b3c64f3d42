"""The campaign report page: the stored figures (``campaigns.report``) as tables, a sentence and a
chart of the response rate per group with its 95% interval, overall and per value class."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from patron.analytics.lift import Estimate, GroupSums, wilson_interval
from patron.campaigns.models import Campaign
from patron.campaigns.report import CampaignReport, campaign_report
from patron.campaigns.results import campaign_responses_refresh
from patron.core.roles import can_read_campaign_reports, user_of
from patron.insights.models import ValueClass

TREATMENT_COLOUR, CONTROL_COLOUR = "#2f6fb0", "#9a9a9a"


def value_class_label(code: str) -> str:
    return str(ValueClass(code).label) if code in ValueClass.values else _("Not scored at launch")


def _points(value: float | None) -> str:
    """A difference of rates in percentage points, localised (one decimal)."""
    return "" if value is None else number_format(100 * value, decimal_pos=1, use_l10n=True)


def summary_sentence(e: Estimate) -> str:
    """The response rate's effect in plain words: raised, lowered, or not distinguishable from none."""
    if e.estimate is None or e.ci_low is None or e.ci_high is None:
        return _("There are not enough members in both groups to compare their response rates yet.")
    values = {"x": _points(abs(e.estimate)), "low": _points(e.ci_low), "high": _points(e.ci_high)}
    if e.ci_low > 0:
        return _("The campaign raised the response rate by %(x)s points (95%% interval %(low)s to %(high)s).") % values
    if e.ci_high < 0:
        return _("The campaign lowered the response rate by %(x)s points (95%% interval %(low)s to %(high)s).") % values
    values["x"] = _points(e.estimate)
    return _(
        "The difference in response rate, %(x)s points (95%% interval %(low)s to %(high)s), is not "
        "distinguishable from no effect."
    ) % values


def _rate_box(g: GroupSums) -> list[float] | str:
    """A boxplot datum drawing the rate (in %) as a line between its Wilson interval's ends."""
    if not g.members:
        return "-"
    low, high = wilson_interval(g.responders, g.members)
    rate = 100 * g.responders / g.members
    return [round(100 * low, 2), round(rate, 2), round(rate, 2), round(rate, 2), round(100 * high, 2)]


def response_chart(report: CampaignReport) -> dict[str, Any]:
    """Response rate per group with its 95% interval, for all members and per value class."""
    categories = [_("All members")] + [value_class_label(b.value_class) for b in report.by_value_class]
    treatment = [report.treatment] + [b.treatment for b in report.by_value_class]
    control = [report.control] + [b.control for b in report.by_value_class]
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"data": [_("Treatment"), _("Control")], "bottom": 0},
        "grid": {"left": 50, "right": 20, "bottom": 70},
        "xAxis": {"type": "category", "data": categories, "axisLabel": {"interval": 0, "rotate": 20}},
        "yAxis": {"type": "value", "name": _("Response rate (%)"), "min": 0},
        "series": [
            {"name": _("Treatment"), "type": "boxplot", "data": [_rate_box(g) for g in treatment],
             "itemStyle": {"color": TREATMENT_COLOUR, "borderColor": TREATMENT_COLOUR}},
            {"name": _("Control"), "type": "boxplot", "data": [_rate_box(g) for g in control],
             "itemStyle": {"color": CONTROL_COLOUR, "borderColor": CONTROL_COLOUR}},
        ],
    }


@login_required
def campaign_report_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    if not can_read_campaign_reports(user):
        raise PermissionDenied(_("Your role does not read campaign reports."))
    campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
    launched = campaign.status == Campaign.Status.LAUNCHED and campaign.launched_at is not None
    if request.method == "POST":
        if launched:
            campaign_responses_refresh(campaign=campaign)
            messages.success(request, _("The report was recounted from the orders."))
        return redirect("campaign-report", pk=campaign.pk)
    report = None
    if launched:
        report = campaign_report(campaign) or campaign_report(campaign_responses_refresh(campaign=campaign))
    context: dict[str, Any] = {"campaign": campaign, "report": report}
    if report is not None:
        context.update(
            sentence=summary_sentence(report.lift.response_rate),
            chart=response_chart(report),
            groups=[
                _group_row(_("Treatment (all)"), report.treatment, part=False),
                _group_row(_("of which contacted"), report.contacted, part=True),
                _group_row(_("of which skipped by the contact budget"), report.skipped, part=True),
                _group_row(_("of which not contacted yet"), report.pending, part=True),
                _group_row(_("Control (never contacted)"), report.control, part=False),
            ],
            differences=_difference_rows(report),
            classes=[
                {
                    "label": value_class_label(b.value_class),
                    "treatment": _group_row("", b.treatment, part=False),
                    "control": _group_row("", b.control, part=False),
                    "rate": _row("", b.lift.response_rate, 100),
                    "margin": _row("", b.lift.margin_per_member),
                    "incremental": _row("", b.lift.incremental_margin),
                }
                for b in report.by_value_class
            ],
        )
    return render(request, "campaigns/report.html", context)


def _group_row(label: str, g: GroupSums, *, part: bool) -> dict[str, Any]:
    def pct(v: float | None) -> float | None:
        return None if v is None else 100 * v

    return {
        "label": label, "part": part, "members": g.members, "responders": g.responders,
        "rate": pct(g.response_rate), "revenue": g.revenue, "margin": g.margin,
        "revenue_per_member": g.revenue_per_member, "margin_per_member": g.margin_per_member,
    }


def _row(label: str, e: Estimate | None, factor: float = 1.0, *, unit: str = "") -> dict[str, Any]:
    e = e.scaled(factor) if e is not None else Estimate(None, None, None)
    return {"label": label, "estimate": e.estimate, "low": e.ci_low, "high": e.ci_high, "unit": unit,
            "clear": e.excludes_zero}


def _difference_rows(report: CampaignReport) -> list[dict[str, Any]]:
    lift, pc = report.lift, report.per_contacted
    rows = [
        _row(_("Response rate"), lift.response_rate, 100, unit=_("points")),
        _row(_("Revenue per member"), lift.revenue_per_member),
        _row(_("Margin per member"), lift.margin_per_member),
        _row(_("Incremental margin"), lift.incremental_margin),
    ]
    if lift.roi is not None:
        rows.append(_row(_("Return on the campaign's cost"), lift.roi, 100, unit="%"))
    rows += [
        _row(_("Response rate per contacted member"), pc.response_rate, 100, unit=_("points")),
        _row(_("Margin per contacted member"), pc.margin_per_member),
    ]
    return rows
