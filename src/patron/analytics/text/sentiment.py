"""Lexicon-based sentiment for Chinese and English comments, with a learned fallback.

A transparent scorer in the tradition of VADER (Hutto & Gilbert, 2014), extended to Chinese:

* every token (or phrase of tokens) found in the lexicon (``data/sentiment_en.tsv``,
  ``data/sentiment_zh.tsv``, ``data/emoji.tsv``) contributes its valence, in [-2, 2];
* an **intensifier** ("very", "非常", "有点", Cantonese "好", "勁") within two tokens before
  multiplies it;
* a **negator** ("not", "never", "不", "没有", "冇", "唔") flips the next word that has a valence
  with a factor of -0.75, or gives it its own negated valence ("doesn't work", "没回复"). It passes
  over function words only: the first other word takes it ("完全不理会我的问题": 不 negates 理会,
  not 问题). A negator of something not done ("还没", "冇人", "no one", "can't") before a verb the
  lexicon does not know is itself a complaint;
* a **contrast** ("but", "但是", "就是" opening a clause) halves everything before it and
  multiplies what follows by 1.5 (praise, "but" and nothing scored after it is a complaint); a
  **concession** ("although", "虽然") halves its own clause;
* **cues** without an evaluative word (waiting times, scarcity, chasing, broken promises; see
  :mod:`patron.analytics.text.cues`) count like words;
* **sarcasm**: praise in scare quotes is reversed (服务真是"一流"); a lone word of praise in a
  comment that otherwise complains is reversed ("… Brilliant.");
* a Chinese word the dictionary keeps whole is split into its parts when they are known:
  "太贵了" = 太 + 贵; "不满意" = 不 + 满意; "X不C" / "X唔C" potential complements ("解决不了",
  "打唔通") are complaints of inability.

The sum ``s`` of contributions becomes a score in (-1, 1) as ``s / sqrt(s**2 + 2)`` and a label:
``positive`` above :data:`POSITIVE_THRESHOLD`, ``negative`` below :data:`NEGATIVE_THRESHOLD`,
otherwise ``neutral``. A comment in which nothing scores goes to the learned model of
:mod:`patron.analytics.text.learned`. :func:`score_sentiment` returns the contributions either
way, so a user can see why a comment scored as it did.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Literal

from patron.analytics.text import cues, learned, segment
from patron.analytics.text.lexicon import Lexicon, lexicon
from patron.analytics.text.normalise import ensure_text
from patron.analytics.text.segment import Token

__all__ = [
    "NEGATIVE_THRESHOLD",
    "POSITIVE_THRESHOLD",
    "Contribution",
    "Sentiment",
    "SentimentLabel",
    "label_for",
    "score_sentiment",
    "score_tokens",
]

SentimentLabel = Literal["negative", "neutral", "positive"]

#: Scores at or above this are "positive", at or below :data:`NEGATIVE_THRESHOLD` "negative".
POSITIVE_THRESHOLD = 0.25
NEGATIVE_THRESHOLD = -0.25
#: Squashing constant: a single plain word of valence 1 scores 1 / sqrt(3) = 0.58.
ALPHA = 2.0
NEGATION_WINDOW = 4
INTENSIFIER_WINDOW = 2
CONTRAST_BEFORE = 0.5
CONTRAST_AFTER = 1.5
CONCESSION = 0.5
#: A scare-quoted phrase with no praise in it ('system upgrade', 「既往症」): a mild complaint.
QUOTED = -0.6
#: What a contrast stands for when nothing after it scores ("lovely, but check-in took an
#: hour" is a complaint even when the cues miss the hour).
IMPLIED_CONTRAST = -1.0
#: A negator that says something was still not done, or done by nobody ("还没下来", "冇人理",
#: "no one told me"), when the verb it negates is not in the lexicon.
UNDONE = -0.8

_ZH_PARTICLES = "了啊的吧呀啦哦呢嘛哈么"
_ZH_COMPLEMENTS = frozenset("了到上开通动起出进下来去住懂完着清全")
_POTENTIAL_RE = re.compile(r"^[\u3400-\u9fff]{1,2}[不唔]([\u3400-\u9fff])[来去]?$")
_POTENTIAL_VALENCE = -0.8
# degree suffixes ("差多了" much worse, "烦死了", "好极了") and result complements that make a
# verb a complaint ("开错" issued wrongly, "压坏" crushed)
_ZH_DEGREE_SUFFIXES = {"多": 1.5, "极": 1.7, "死": 1.7, "透": 1.7, "爆": 1.7}
_ZH_RESULTS = frozenset("错坏破丢烂碎漏")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One scored term: ``valence`` from the lexicon, ``weight`` from its modifiers and clause
    (``value = valence * weight`` unless the term has its own negated valence)."""

    term: str
    valence: float
    weight: float
    value: float
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float
    label: SentimentLabel
    contributions: tuple[Contribution, ...] = ()


def label_for(score: float) -> SentimentLabel:
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


# --- items: the token stream turned into what the scorer acts on -----------------------------

_BOUNDARY = "boundary"
_WORD = "word"
_NEG = "neg"
_INT = "int"
_CONTRAST = "contrast"
_CONCESSION = "concession"
_OTHER = "other"
_DIRECTION = "direction"
_ASPECT = "aspect"
_POTENTIAL = "potential"  # a Chinese potential complement ("打不通"), scored as a word
_CUE = "cue"  # a complaint or praise without an evaluative word (see cues.py)


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str
    term: str
    value: float = 0.0
    # for words that are also intensifiers ("好" in "好慢" vs "很好")
    alt_intensifier: float | None = None
    negated_value: float | None = None
    quote: int = 0  # the quoted span the word is in (scare quotes), 0 if none


def _lead_items(key: str, lex: Lexicon, *, clause_start: bool) -> list[_Item]:
    """Contrast or concession marker items for ``key`` (they come before its other items)."""
    if key in lex.contrast and (clause_start or not lex.contrast[key]):
        return [_Item(_CONTRAST, key)]
    if key in lex.concession and (clause_start or not lex.concession[key]):
        return [_Item(_CONCESSION, key)]
    return []


def _neg_items(key: str, lex: Lexicon) -> list[_Item]:
    """Negator items for ``key`` (they come after its own valence: "nobody" is negative and
    negates what follows, but does not negate itself)."""
    if key in lex.negators:
        return [_Item(_NEG, key, lex.negators[key])]
    if key.endswith("n't"):
        return [_Item(_NEG, key, -0.75)]
    return []


def _word_item(key: str, lex: Lexicon) -> _Item:
    return _Item(
        _WORD,
        key,
        lex.valence[key],
        alt_intensifier=lex.intensifiers.get(key),
        negated_value=lex.negated_valence.get(key),
    )


def _core_items(key: str, lex: Lexicon, *, with_intensifier: bool = True) -> list[_Item]:
    """Aspect, valence, direction or intensifier items of a known ``key``."""
    items: list[_Item] = []
    if key in lex.aspects:
        items.append(_Item(_ASPECT, key, lex.aspects[key]))
    if key in lex.valence:
        items.append(_word_item(key, lex))
    elif key in lex.directions:
        items.append(_Item(_DIRECTION, key, lex.directions[key]))
    elif with_intensifier and key in lex.intensifiers and key not in lex.negators:
        items.append(_Item(_INT, key, lex.intensifiers[key]))
    return items


def _zh_items(word: str, lex: Lexicon, *, clause_start: bool) -> list[_Item]:
    """Items for one Chinese token, splitting it into known parts when it is not known whole."""
    lead = _lead_items(word, lex, clause_start=clause_start)
    core = _core_items(word, lex)
    neg = _neg_items(word, lex)
    if lead or core or neg:
        return [*lead, *core, *neg]
    parts = _decompose_zh(word, lex)
    if parts is None:
        return [_Item(_OTHER, word)]
    out: list[_Item] = []
    for kind, part, value in parts:
        if kind == _INT:
            out.append(_Item(_INT, part, value))
        elif kind == _POTENTIAL:
            out.append(_Item(_WORD, part, value))
        elif kind == _OTHER:
            out.append(_Item(_OTHER, part))
        else:
            out.extend(_core_items(part, lex) or [])
            out.extend(_neg_items(part, lex))
    return out


def _known(part: str, lex: Lexicon) -> bool:
    return part in lex.valence or part in lex.directions


def _decompose_zh(word: str, lex: Lexicon) -> list[tuple[str, str, float]] | None:
    """Split an unknown Chinese ``word`` into scored parts, or ``None``.

    Tried in order: trailing particles ("好用啊"); negator/intensifier prefixes before a known
    word ("太贵", "不满意", "很不方便"), optionally followed by a degree suffix ("差多了",
    "烦死"); a result complement ("开错", "压坏"); a potential complement ("解决不了", "打不通");
    a known word of two or more characters at the end ("提前通知"); and, for words jieba did
    not find in a dictionary but guessed, a greedy split into known parts ("排超久").
    """
    stripped = word.rstrip(_ZH_PARTICLES) or word
    if stripped != word and _known(stripped, lex):
        return [(_WORD, stripped, 0.0)]
    prefixes: list[tuple[str, str, float]] = []
    rest = stripped
    while rest:
        if prefixes and _known(rest, lex):
            return [*prefixes, (_WORD, rest, 0.0)]
        if len(rest) >= 2 and rest[-1] in _ZH_DEGREE_SUFFIXES and _known(rest[:-1], lex):
            return [
                *prefixes,
                (_INT, rest[-1], _ZH_DEGREE_SUFFIXES[rest[-1]]),
                (_WORD, rest[:-1], 0.0),
            ]
        for n in (3, 2, 1):
            head = rest[:n]
            if len(rest) > n and (head in lex.negators or head in lex.intensifiers):
                kind = _NEG if head in lex.negators else _INT
                value = lex.negators[head] if kind == _NEG else lex.intensifiers[head]
                prefixes.append((kind, head, value))
                rest = rest[n:]
                break
        else:
            break
    if (
        2 <= len(stripped) <= 3
        and stripped[-1] in _ZH_RESULTS
        and stripped[:-1] not in lex.negators
    ):
        return [(_WORD, stripped[-1], 0.0)] if stripped[-1] in lex.valence else None
    for size in range(len(stripped) - 1, 1, -1):  # "价格比": an aspect at the start
        if stripped[:size] in lex.aspects:
            return [(_WORD, stripped[:size], 0.0), (_OTHER, stripped[size:], 0.0)]
    m = _POTENTIAL_RE.match(stripped)
    if m and m.group(1) in _ZH_COMPLEMENTS:
        return [(_POTENTIAL, stripped, _POTENTIAL_VALENCE)]
    for size in range(len(stripped) - 1, 1, -1):
        tail = stripped[-size:]
        if tail in lex.valence:
            head = stripped[:-size]
            if head[-1] in lex.negators:  # "说不清楚": the tail is negated
                return [(_OTHER, head[:-1], 0.0), (_NEG, head[-1], 0.0), (_WORD, tail, 0.0)]
            return [(_OTHER, head, 0.0), (_WORD, tail, 0.0)]
    if len(stripped) >= 2 and not segment.is_dictionary_word(word):
        return _greedy_zh(stripped, lex)
    return None


def _greedy_zh(word: str, lex: Lexicon) -> list[tuple[str, str, float]] | None:
    parts: list[tuple[str, str, float]] = []
    i = 0
    scored = False
    while i < len(word):
        for n in (4, 3, 2, 1):
            piece = word[i : i + n]
            if len(piece) < n:
                continue
            if _known(piece, lex):
                parts.append((_WORD, piece, 0.0))
                scored = True
            elif piece in lex.negators:
                parts.append((_NEG, piece, lex.negators[piece]))
            elif piece in lex.intensifiers:
                parts.append((_INT, piece, lex.intensifiers[piece]))
            else:
                continue
            i += n
            break
        else:
            parts.append((_OTHER, word[i], 0.0))
            i += 1
    return parts if scored else None


def _items(tokens: list[Token], lex: Lexicon) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    n = len(tokens)
    clause_start = True
    while i < n:
        tok = tokens[i]
        if tok.kind == "punct":
            items.append(_Item(_BOUNDARY, tok.raw))
            clause_start = True
            i += 1
            continue
        # longest lexicon phrase starting here (English words, or Chinese words that jieba split)
        matched = False
        for width in range(min(lex.max_words, n - i), 1, -1):
            window = tokens[i : i + width]
            if any(t.kind in ("punct", "num", "emoji") for t in window):
                continue
            key = segment.join_tokens(window)
            raw_key = " ".join(t.raw for t in window) if window[0].kind == "en" else key
            lead = _lead_items(raw_key, lex, clause_start=clause_start)
            core = _core_items(key, lex, with_intensifier=False)
            if not core and raw_key in lex.intensifiers and raw_key not in lex.negators:
                core = [_Item(_INT, raw_key, lex.intensifiers[raw_key])]
            neg = _neg_items(raw_key, lex)
            if not (lead or core or neg):
                continue
            items.extend(_quoted([*lead, *core, *neg], window[0].quote))
            i += width
            matched = True
            break
        if matched:
            clause_start = False
            continue
        if tok.kind == "zh":
            if tok.raw in _NOT_BEFORE_NUMBERS and i + 1 < n and tokens[i + 1].raw[0] in _NUMERALS:
                items.append(_Item(_OTHER, tok.raw))  # 快一倍: almost, not fast
            else:
                items.extend(_quoted(list(_zh_items_cached(tok.raw, clause_start)), tok.quote))
        elif tok.kind == "en":
            lead = _lead_items(tok.raw, lex, clause_start=clause_start)
            core = _core_items(tok.text, lex, with_intensifier=False) or _core_items(
                tok.raw, lex, with_intensifier=False
            )
            neg = _neg_items(tok.raw, lex)
            if not core and not neg and tok.raw in lex.intensifiers:
                core = [_Item(_INT, tok.raw, lex.intensifiers[tok.raw])]
            items.extend(_quoted([*lead, *core, *neg], tok.quote) or [_Item(_OTHER, tok.raw)])
        elif tok.kind == "emoji":
            key = tok.raw.rstrip("\ufe0f")
            if key in lex.valence:
                items.append(_Item(_WORD, key, lex.valence[key]))
        else:
            items.append(_Item(_OTHER, tok.raw))
        clause_start = False
        i += 1
    return items


_NUMERALS = frozenset("0123456789一二三四五六七八九十两几半")
_NOT_BEFORE_NUMBERS = frozenset({"快", "差不多", "将近"})


def _quoted(items: list[_Item], quote: int) -> list[_Item]:
    if not quote:
        return items
    return [
        _Item(it.kind, it.term, it.value, it.alt_intensifier, it.negated_value, quote)
        if it.kind == _WORD
        else it
        for it in items
    ]


def _clause_items(tokens: list[Token], lex: Lexicon) -> list[_Item]:
    """The items of one clause, with its cues (waiting times, scarcity, scare quotes) at the
    end, and without its negators when it is a superlative (没有比你们更好的)."""
    items = _items(tokens, lex)
    if cues.is_superlative(tokens):
        items = [
            _Item(_INT, it.term, 1.3) if it.kind == _NEG else it
            for it in items
            if not (it.kind == _WORD and it.value == _POTENTIAL_VALENCE)
        ]
    quotes = {t.quote for t in tokens if t.quote}
    for quote in sorted(quotes):
        if not any(it.quote == quote and it.value > 0 for it in items):
            phrase = "".join(
                t.raw if t.kind == "zh" else f" {t.raw}" for t in tokens if t.quote == quote
            )
            items.append(_Item(_CUE, f'"{phrase.strip()}"', QUOTED))
    items.extend(_Item(_CUE, phrase, value) for phrase, value in cues.clause_cues(tokens))
    return items


def _all_items(tokens: list[Token], lex: Lexicon) -> list[_Item]:
    items: list[_Item] = []
    if any(t.kind == "zh" for t in tokens):
        text = cues.clause_text(tokens).replace(" ", "")
        items.extend(_Item(_CUE, phrase, value) for phrase, value in cues.comment_cues(text))
    start = 0
    for i in range(len(tokens) + 1):
        if i == len(tokens) or tokens[i].kind == "punct":
            if i > start:
                items.extend(_clause_items(tokens[start:i], lex))
            if i < len(tokens):
                items.append(_Item(_BOUNDARY, tokens[i].raw))
            start = i + 1
    return items


def clear_caches() -> None:
    """Forget the analysed Chinese words (for measuring text never seen before)."""
    _zh_items_cached.cache_clear()


@functools.lru_cache(maxsize=16384)
def _zh_items_cached(word: str, clause_start: bool) -> tuple[_Item, ...]:
    return tuple(_zh_items(word, lexicon(), clause_start=clause_start))


def _resolve_directions(items: list[_Item]) -> list[_Item]:
    """Give each direction word ("high", "低") its valence from the nearest aspect word in its
    clause; without one it scores nothing."""
    if not any(it.kind == _DIRECTION for it in items):
        return items
    out = list(items)
    start = 0
    for end in [*(i for i, it in enumerate(items) if it.kind == _BOUNDARY), len(items)]:
        aspects = [i for i in range(start, end) if items[i].kind == _ASPECT]
        for i in range(start, end):
            if items[i].kind != _DIRECTION:
                continue
            if aspects:
                nearest = min((abs(j - i), j > i, j) for j in aspects)[2]
                out[i] = _Item(_WORD, items[i].term, items[i].value * items[nearest].value)
            else:
                out[i] = _Item(_OTHER, items[i].term)
        start = end + 1
    return out


# --- scoring ----------------------------------------------------------------------------------


def _score_items(items: list[_Item], lex: Lexicon) -> tuple[float, list[Contribution]]:
    items = _resolve_directions(items)
    contributions: list[Contribution] = []
    weights: list[float] = []  # clause weight per contribution, adjusted by later contrasts
    clauses: list[int] = []  # the clause of each contribution
    clause = 0
    after_contrast = 1.0
    concession = 1.0
    neg: float | None = None
    neg_term = ""
    neg_age = 0
    inten: float | None = None
    int_age = 0

    def add(c: Contribution) -> None:
        contributions.append(c)
        weights.append(after_contrast * concession)
        clauses.append(clause)

    others: dict[int, int] = {}  # words in each clause that scored nothing
    for idx, item in enumerate(items):
        if item.kind == _BOUNDARY:
            neg, inten, concession = None, None, 1.0
            clause += 1
            continue
        if item.kind != _WORD and item.term not in ("job", "work", "one"):
            others[clause] = others.get(clause, 0) + 1  # anything but the praise itself
        if item.kind == _CONTRAST:
            rest = items[idx + 1 :]
            if any(it.kind in (_WORD, _CUE) for it in rest):
                weights = [w * CONTRAST_BEFORE for w in weights]
                after_contrast = CONTRAST_AFTER
            elif (
                sum(c.value for c in contributions) > 0
                and sum(1 for it in rest if it.kind == _OTHER) >= 2
            ):
                # praise, then "but" and a clause with no scored word: what follows is the
                # complaint ("the room was lovely, but check-in took an hour")
                weights = [w * CONTRAST_BEFORE for w in weights]
                after_contrast = CONTRAST_AFTER
                add(Contribution(item.term + " …", IMPLIED_CONTRAST, 1.0, IMPLIED_CONTRAST))
            neg, inten = None, None
            continue
        if item.kind == _ASPECT:
            continue
        if item.kind == _CONCESSION:
            concession = CONCESSION
            continue
        if item.kind == _CUE:
            add(Contribution(item.term, item.value, 1.0, item.value))
            continue
        if item.kind == _NEG:
            neg = item.value if neg is None else neg * item.value
            neg_term = item.term
            neg_age = 0
            continue
        if item.kind == _INT:
            inten = item.value if inten is None else inten * item.value
            int_age = 0
            continue
        if item.kind == _WORD:
            nxt = items[idx + 1] if idx + 1 < len(items) else None
            if item.alt_intensifier is not None and nxt is not None and nxt.kind in (_WORD, _NEG):
                # "好慢", "好冇禮貌": 好 strengthens what follows rather than being praise itself
                inten = item.alt_intensifier if inten is None else inten * item.alt_intensifier
                int_age = 0
                continue
            weight = inten if inten is not None else 1.0
            valence = item.value
            negated = neg is not None and neg < 0
            if neg is not None and item.negated_value is not None and negated:
                value = item.negated_value * weight
            else:
                if neg is not None:
                    weight *= neg
                value = valence * weight
            term = item.term
            if item.quote and value > 0:
                # praise in scare quotes means the opposite: 服务真是"一流"
                term, weight, value = f'"{term}"', -weight, -value
            if value != 0.0 or valence != 0.0:
                add(Contribution(term, valence, weight, value, negated=negated))
            if value != 0.0 or item.negated_value is None or neg is not None:
                neg, inten = None, None
            continue
        # any other token ages the pending modifiers; a content word takes the negation
        if neg is not None:
            neg_age += 1
            if item.term not in lex.pass_over and not item.term.isdigit():
                if neg < 0 and neg_term in lex.undone:
                    add(Contribution(f"{neg_term} {item.term}", UNDONE, 1.0, UNDONE, negated=True))
                neg = None
            elif neg_age >= NEGATION_WINDOW:
                neg = None
        if inten is not None:
            int_age += 1
            if int_age >= INTENSIFIER_WINDOW:
                inten = None
    weights = _sarcastic_interjections(contributions, weights, clauses, others, lex.interjections)
    final = [
        Contribution(c.term, c.valence, c.weight * w, c.value * w, c.negated)
        for c, w in zip(contributions, weights, strict=True)
    ]
    return sum(c.value for c in final), final


def _sarcastic_interjections(
    contributions: list[Contribution],
    weights: list[float],
    clauses: list[int],
    others: dict[int, int],
    interjections: frozenset[str],
) -> list[float]:
    """ "Great, another 'system upgrade' … Brilliant.": a clause that is nothing but one word of
    praise (perhaps with "job": "Great job."), in a comment whose other clauses
    complain, is sarcasm; its weight is flipped."""
    if len(set(clauses)) < 2:
        return weights
    per_clause: dict[int, list[int]] = {}
    for i, clause in enumerate(clauses):
        per_clause.setdefault(clause, []).append(i)
    out = list(weights)
    lone = [
        members[0]
        for clause, members in per_clause.items()
        if len(members) == 1
        and contributions[members[0]].value > 0
        and contributions[members[0]].term in interjections
        and not others.get(clause, 0)
    ]
    rest = sum(
        c.value * w
        for i, (c, w) in enumerate(zip(contributions, weights, strict=True))
        if i not in lone
    )
    if lone and rest < 0:
        for i in lone:
            out[i] = -weights[i]
    return out


def score_sentiment(text: object, *, fallback: bool = True) -> Sentiment:
    """Sentiment of one comment (Chinese, English or mixed): score in [-1, 1], label and the
    contributing terms. Empty or missing text is neutral with score 0. When the lexicon finds
    nothing, the learned model decides (``fallback=False``: the comment is neutral)."""
    text = ensure_text(text)
    if not text.strip():
        return Sentiment(0.0, "neutral", ())
    return score_tokens(segment.tokenize(text), fallback=fallback)


def score_tokens(tokens: list[Token], *, fallback: bool = True) -> Sentiment:
    """:func:`score_sentiment` on tokens from :func:`~patron.analytics.text.segment.tokenize`."""
    if not tokens:
        return Sentiment(0.0, "neutral", ())
    total, contributions = _score_items(_all_items(tokens, lex := lexicon()), lex)
    if not contributions:
        return _learned(tokens) if fallback else Sentiment(0.0, "neutral", ())
    score = total / math.sqrt(total * total + ALPHA)
    score = max(-1.0, min(1.0, score))
    return Sentiment(round(score, 4), label_for(score), tuple(contributions))


def _learned(tokens: list[Token]) -> Sentiment:
    """No word of the lexicon and no cue: the learned model decides (see learned.py). Its
    contributions are the model's features, marked ``model:``."""
    label, score, pushes = learned.model().predict(tokens)
    contributions = tuple(
        Contribution(f"model:{feature[2:]}", value, 1.0, value) for feature, value in pushes
    )
    return Sentiment(round(score, 4), label_for_class(label), contributions)


def label_for_class(label: str) -> SentimentLabel:
    if label == "negative":
        return "negative"
    if label == "positive":
        return "positive"
    return "neutral"
