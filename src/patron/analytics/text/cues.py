"""Complaints and praise without an evaluative word: waiting times, scarcity, superlatives.

Customers often state a fact that is bad news: "waited 45 minutes at the branch", "排了一个多小时的
队", "理赔等了三个月还没下来", "only one teller window was open", "收银台只开了一个". No lexicon word
is negative there; the duration or the count is. This module finds such cues in one clause and
returns them as ``(phrase, valence)``; :mod:`patron.analytics.text.sentiment` adds them to the
clause like a lexicon word (so they are weighted by contrast and shown as contributions).

* how long a thing has been used (用了三年) is no cue; a task that took a few minutes ("took
  two minutes") is quick;
* a duration after waiting, queueing, taking or dragging (等了, 排了, 拖了, took, waited, on hold,
  after, for), or followed by "still" (才, 还没, 都没) is slow: -1; a duration followed by 就 /
  搞定 ("三天就到了", "五分钟搞定") or after "in"/"within" ("settled in 10 days") is quick: +0.6;
* "only one/two", 只开了两个, 就一个人, 先得两个 (Cantonese "only"): -0.8;
* short by an amount (少了两百, 少发了一件): -1;
* asking or chasing again and again (催了好几次, "I've asked twice", "kept asking"): -1;
* 没有比…更… / 找不到比…更… (there is none better) is a superlative, not a negation: the
  clause is flagged so the scorer drops its negators.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from patron.analytics.text.segment import Token

__all__ = [
    "QUICK",
    "REPEATED",
    "SCARCE",
    "SHORT",
    "SLOW",
    "clause_cues",
    "clause_text",
    "comment_cues",
    "is_superlative",
]

SLOW = -1.3
QUICK = 0.6
SCARCE = -0.8
REPEATED = -1.0
SHORT = -1.0

_ZH_NUM = "[0-9一二三四五六七八九十两几半多百千成整]+"
_ZH_UNIT = "(?:个)?(?:多)?(?:分钟|小时|钟头|个钟|钟|天|日|周|星期|礼拜|个月|月|年)(?:多)?"
_ZH_DURATION = re.compile(f"({_ZH_NUM}{_ZH_UNIT})")
_ZH_SLOW_BEFORE = re.compile(
    "(?:等|排|拖|耗|花了|用了|办了|审|才|足足|整整|快|咗|了)[^0-9一二三四五六七八九十两几半百千]{0,2}$"
)
_ZH_IN_USE = re.compile("(?:用了|开了|穿了|戴了|买了)$")
_ZH_LONG_UNIT = re.compile("(?:月|年)")
_ZH_SLOW_AFTER = re.compile("^(?:才|还|都还|仍|了还|了都|都没|也没|都冇|仲|先|过去了)")
_ZH_QUICK_AFTER = re.compile("^(?:就|便|内|之内|以内|搞定|左右就)")
_ZH_SCARCE = re.compile(
    "(?:只|就|才|先得)(?:开了|开|有|剩下|剩|来了|派了)?(?:(?:一|两|二|1|2)个(?!月|星期|礼拜|小时|钟)|一半|半)"
)
# a promise, then what happened: "说是90%，实际只报了60%", "说好免的，结果还是扣了"
_ZH_BROKEN_PROMISE = re.compile(
    "(?:说好|说是|号称|承诺|答应|明明说|说)[^。！？!?]{1,20}?[,，](?:实际|结果|最后|到头来|却|又说)"
)
# asked, called, chased ... again and again: 催了好几次, 问了三次, "I've asked twice"
_ZH_REPEATED = re.compile(
    "(?:问|打|催|找|叫|喊|说|反映|投诉|寄|交|跑|打电话|上传|提交|刷|换|转)了?[^,，。!?]{0,4}?"
    "(?:两|三|四|五|好几|几|[2-9])(?:次|遍|趟|个)"
)
_EN_REPEATED = re.compile(
    r"\b(?:asked|called|rang|phoned|chased|emailed|wrote|written|sent|told them)\b(?:\s+\S+){0,4}?\s+"
    r"(?:twice|three times|four times|\d+ times|several times|multiple times|repeatedly)\b"
)
_EN_KEPT = re.compile(r"\bkept\s+(?!me\b|us\b)\w+ing\b")
# short by an amount: 退回来少了两百, 少发了一件, 常常少一两箱
_ZH_SHORT = re.compile(
    "少(?:了|发了?|给了?|退了?|算了?|赔了?|寄了?)?(?:[0-9一二两三四五六七八九十几半百千]+)"
    "(?:块|元|百|千|万|件|箱|个|张|台|包|瓶|成|%)"
)
_ZH_SUPERLATIVE = re.compile(
    "(?:没有|没|冇|找不到|再也找不到|无)(?:[^,，。!?]{0,8})?比[^,，。!?]{1,12}(?:更|还要|还)"
)

_EN_NUM = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|sixty|ninety|few|several|couple of|couple|half an?|a few|many)"
)
_EN_UNIT = r"(?:\w+\s+)?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\b"
_EN_SLOW = re.compile(
    r"\b(?:took|take|takes|taken|taking|wait|waited|waiting|queue|queued|queuing|hold|still|"
    r"after|over|spent|been|for|another|nearly|almost|sit|sat|stuck|pending)\b(?:\s+\S+){0,3}?\s+"
    + _EN_NUM
    + r"\s+"
    + _EN_UNIT
)
_EN_FOREVER = re.compile(
    r"\b(?:hold|wait|waited|waiting|took|take|takes|taking|queue|queued|dragged)\b(?:\s+\S+){0,2}?\s+"
    r"(?:forever|ages|an eternity)\b"
    r"|\b(?:for|took|after|waited|sit|sat|sitting|stuck|pending)\s+(?:days|weeks|months|hours)\b"
)
_EN_QUICK = re.compile(
    r"\b(?:in|within)\s+(?:just\s+|only\s+|under\s+)?" + _EN_NUM + r"\s+" + _EN_UNIT
)
# "the drop-off took two minutes", "took 5 mins": a task done in a few minutes is quick
_EN_SHORT = re.compile(
    r"\b(?:took|take|takes|taken|taking)\b(?:\s+\S+){0,3}?\s+"
    r"(?:[1-5]|a|one|two|three|four|five|a few|a couple of|couple of)\s+(?:minutes?|mins?)\b"
)
_EN_NEGATED = re.compile(r"\b(?:not|no|never|\w+n't)\b")
_EN_SCARCE = re.compile(r"\bonly\s+(?:one|two|1|2|a single)\b")


_EN_HINTS = frozenset(
    [
        "only",
        "forever",
        "ages",
        "eternity",
        "twice",
        "times",
        "repeatedly",
        "kept",
        "minute",
        "minutes",
        "min",
        "mins",
        "hour",
        "hours",
        "hr",
        "hrs",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
    ]
)


def clause_text(tokens: Sequence[Token]) -> str:
    """The clause as matched here: Chinese joined without spaces, words with one."""
    out = ""
    prev = ""
    for t in tokens:
        if out and (t.kind != "zh" or prev != "zh"):
            out += " "
        out += t.raw
        prev = t.kind
    return out


def _zh_cues(text: str) -> list[tuple[str, float]]:
    squeezed = text.replace(" ", "")
    cues: list[tuple[str, float]] = []
    for m in _ZH_DURATION.finditer(squeezed):
        before, after = squeezed[max(0, m.start() - 4) : m.start()], squeezed[m.end() :]
        if _ZH_IN_USE.search(before) and _ZH_LONG_UNIT.search(m.group()):
            continue  # 用了三年没出过问题 / 用了两个月就坏了: how long a thing lasted, not a wait
        if _ZH_QUICK_AFTER.match(after):
            cues.append((m.group() + after[:2], QUICK))
        elif _ZH_SLOW_BEFORE.search(before) or _ZH_SLOW_AFTER.match(after):
            cues.append((before[-2:] + m.group(), SLOW))
    for m in _ZH_SCARCE.finditer(squeezed):
        cues.append((m.group(), SCARCE))
    cues += [(m.group(), REPEATED) for m in _ZH_REPEATED.finditer(squeezed)]
    cues += [(m.group(), SHORT) for m in _ZH_SHORT.finditer(squeezed)]
    return cues


def _en_cues(text: str) -> list[tuple[str, float]]:
    slow = [m.group() for m in (*_EN_SLOW.finditer(text), *_EN_FOREVER.finditer(text))]
    cues = [(s, QUICK if _EN_SHORT.search(s) else SLOW) for s in slow]
    if not slow:
        # "hasn't updated in two weeks" is slow, "settled in 10 days" quick
        negated = _EN_NEGATED.search(text) is not None
        cues += [(m.group(), SLOW if negated else QUICK) for m in _EN_QUICK.finditer(text)]
    cues += [(m.group(), SCARCE) for m in _EN_SCARCE.finditer(text)]
    cues += [
        (m.group(), REPEATED) for m in (*_EN_REPEATED.finditer(text), *_EN_KEPT.finditer(text))
    ]
    return cues


def clause_cues(tokens: Sequence[Token]) -> list[tuple[str, float]]:
    """Cues of one clause (tokens between punctuation), in order found."""
    if not any(t.kind in ("num", "zh") or t.raw in _EN_HINTS for t in tokens):
        return []
    text = clause_text(tokens)
    cues = _zh_cues(text) if any(t.kind == "zh" for t in tokens) else []
    if any(t.kind == "en" for t in tokens):
        cues += _en_cues(text)
    return cues


def comment_cues(text: str) -> list[tuple[str, float]]:
    """Cues that span clauses: a broken promise (说好…结果…, 说是…实际…, 说能赔…又说…)."""
    return [(m.group(), SLOW) for m in _ZH_BROKEN_PROMISE.finditer(text)]


def is_superlative(tokens: Sequence[Token]) -> bool:
    """没有比你们更靠谱的: a negated comparison meaning "the best"."""
    return any(t.raw == "比" for t in tokens) and bool(
        _ZH_SUPERLATIVE.search(clause_text(tokens).replace(" ", ""))
    )
