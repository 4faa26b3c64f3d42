"""When a response opens a follow-up: every detractor, plus any active rule that matches.

Pure over plain values so it can be tested without a database. A rule matches when all the
conditions it sets hold (score at most N, a keyword in the comment, sentiment below a threshold).
Sentiment comes from a callable ``f(text, language) -> float`` in [-1, 1] (see settings.PATRON_SENTIMENT_FUNCTION);
without one, a rule that asks for sentiment does not match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from patron.feedback.models import FollowUpRule, ScoreClass
from patron.feedback.reasons import detractor_reason, rule_reason

Sentiment = Callable[[str, str], float]


@dataclass(frozen=True)
class Match:
    reason: str
    rule: FollowUpRule | None = None
    sla_hours: int | None = None


def rule_matches(
    rule: FollowUpRule, *, survey_id: int, score: int, comment: str, language: str, sentiment: Sentiment | None
) -> bool:
    if not rule.is_active or (rule.survey_id is not None and rule.survey_id != survey_id):
        return False
    checks: list[bool] = []
    if rule.max_score is not None:
        checks.append(score <= rule.max_score)
    keywords = rule.keyword_list
    if keywords:
        lowered = comment.lower()
        checks.append(any(k in lowered for k in keywords))
    if rule.sentiment_below is not None:
        if sentiment is None or not comment.strip():
            checks.append(False)
        else:
            try:
                checks.append(float(sentiment(comment, language)) < rule.sentiment_below)
            except (ValueError, TypeError):  # a sentiment function that cannot score this text
                checks.append(False)
    return bool(checks) and all(checks)


def evaluate(
    *,
    survey_id: int,
    score: int,
    score_class: str,
    comment: str,
    language: str,
    rules: Iterable[FollowUpRule],
    sentiment: Sentiment | None = None,
) -> Match | None:
    if score_class == ScoreClass.DETRACTOR:
        return Match(detractor_reason(score))
    for rule in rules:
        if rule_matches(rule, survey_id=survey_id, score=score, comment=comment, language=language, sentiment=sentiment):
            return Match(rule_reason(rule.name), rule, rule.sla_hours)
    return None
