"""Comment analytics in Chinese and English: language, sentiment, themes and root cause.

Pure (no Django, no other Patron package): the app calls :func:`analyse` per comment and
:func:`theme_drivers` for the root-cause view, with a :class:`Taxonomy` of themes an admin can
configure. See ``docs/analytics/text.md``.
"""

from patron.analytics.text.analyse import CommentAnalysis, analyse, analyse_many, warm_up
from patron.analytics.text.drivers import nps_class, theme_drivers
from patron.analytics.text.normalise import detect_language, normalise
from patron.analytics.text.segment import tokenize
from patron.analytics.text.sentiment import Sentiment, score_sentiment
from patron.analytics.text.taxonomy import (
    PRESETS,
    Taxonomy,
    Theme,
    default_taxonomy,
    load_taxonomy,
    preset,
)
from patron.analytics.text.themes import extract_themes, match_themes, uncovered_terms

__all__ = [
    "PRESETS",
    "CommentAnalysis",
    "Sentiment",
    "Taxonomy",
    "Theme",
    "analyse",
    "analyse_many",
    "default_taxonomy",
    "detect_language",
    "extract_themes",
    "load_taxonomy",
    "match_themes",
    "normalise",
    "nps_class",
    "preset",
    "score_sentiment",
    "theme_drivers",
    "tokenize",
    "uncovered_terms",
    "warm_up",
]
