"""Display labels for the stable codes the analytics core returns (reasons, segments, trends)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CHURN_REASONS = {
    "no_recent_purchase": _("No recent purchase"),
    "purchase_overdue": _("Overdue against own buying rhythm"),
    "few_purchases": _("Few purchases"),
    "low_spend": _("Low spend"),
    "new_customer": _("New customer"),
    "declining_purchase_rate": _("Buying less and less often"),
    "low_nps": _("Low NPS"),
    "detractor": _("Detractor"),
    "nps_dropped": _("NPS dropped"),
    "recent_complaints": _("Recent complaints"),
    "open_follow_up": _("Open follow-up"),
    "no_survey_answer": _("Never answered a survey"),
}

RFM_SEGMENTS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "potential_loyalist": _("Potential loyalists"),
    "new": _("New"),
    "promising": _("Promising"),
    "need_attention": _("Need attention"),
    "about_to_sleep": _("About to sleep"),
    "at_risk": _("At risk"),
    "cant_lose": _("Can't lose"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
}

TRENDS = {
    "growing": _("Growing"),
    "stable": _("Stable"),
    "shrinking": _("Shrinking"),
    "inactive": _("Inactive"),
    "insufficient": _("Too new to tell"),
}


def label(table: dict, code: str | None) -> str:
    if not code:
        return ""
    return str(table.get(code, code))
