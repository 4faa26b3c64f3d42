"""A follow-up's reason: stored in English whatever the language of the request or job that
opened it, and translated when shown (``reason_label``), so each reader sees it in their own
language. The two forms below are Patron's own; any other text is shown as stored."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

DETRACTOR_REASON = "Detractor (score %(score)d)"
RULE_REASON = "Rule: %(name)s"
_DETRACTOR = re.compile(r"^Detractor \(score (\d+)\)$")
_RULE = re.compile(r"^Rule: (.+)$", re.S)


def detractor_reason(score: int) -> str:
    return DETRACTOR_REASON % {"score": score}


def rule_reason(name: str) -> str:
    return RULE_REASON % {"name": name}


def reason_label(reason: str) -> str:
    """A stored reason in the active language."""
    if match := _DETRACTOR.match(reason):
        return _("Detractor (score %(score)d)") % {"score": int(match.group(1))}
    if match := _RULE.match(reason):
        return _("Rule: %(name)s") % {"name": match.group(1)}
    return reason
