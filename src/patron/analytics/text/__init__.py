"""Comment analytics in Chinese and English: language, sentiment, themes and root cause.

Pure (no Django): the app calls :func:`analyse` per comment and :func:`theme_drivers` for the
root-cause view. See ``docs/analytics/text.md``.
"""

from patron.analytics.text.analyse import CommentAnalysis, analyse, analyse_many
from patron.analytics.text.drivers import nps_class, theme_drivers
from patron.analytics.text.segment import detect_language, normalise, tokenize, warm_up
from patron.analytics.text.sentiment import Sentiment, score_sentiment
from patron.analytics.text.themes import (
    Taxonomy,
    Theme,
    default_taxonomy,
    extract_themes,
    load_taxonomy,
    match_themes,
    uncovered_terms,
)

__all__ = [
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
    "score_sentiment",
    "theme_drivers",
    "tokenize",
    "uncovered_terms",
    "warm_up",
]
