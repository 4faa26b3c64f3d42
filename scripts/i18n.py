#!/usr/bin/env python3
"""Keep the translation catalogues complete.

    .venv/bin/python scripts/i18n.py           # extract strings, fill Traditional from Simplified, compile
    .venv/bin/python scripts/i18n.py --check   # fail if any string lacks a translation in either catalogue

Simplified Chinese is translated by hand in src/patron/locale/zh_Hans/LC_MESSAGES/django.po.
Traditional Chinese entries left empty are filled from the Simplified ones with OpenCC's
s2twp conversion (Taiwan vocabulary) and can then be edited by hand; a hand edit is kept.
The .mo files are compiled with polib, so no GNU gettext is needed to run the app.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "patron"
LOCALE = PACKAGE / "locale"
LANGS = ["zh_Hans", "zh_Hant"]
PLURAL = "nplurals=1; plural=0;"


def catalogue(lang: str, domain: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"


def extract() -> None:
    """Run makemessages; keep a catalogue byte-identical when only its header date changed."""
    before = {p: p.read_bytes() for lang in LANGS for p in [catalogue(lang, "django"), catalogue(lang, "djangojs")] if p.exists()}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "patron.config.settings"}
    args = [sys.executable, "-m", "patron.cli", "makemessages", "--no-location", "--no-obsolete"]
    for lang in LANGS:
        args += ["-l", lang]
    subprocess.run([*args, "-i", "locale/*", "-i", "migrations/*"], cwd=PACKAGE, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    # msgmerge guesses translations of new strings from similar old ones ("fuzzy"); the guesses
    # are usually wrong, so they are cleared and the string is listed as untranslated.
    for lang in LANGS:
        po = polib.pofile(str(catalogue(lang, "django")))
        fuzzy = [e for e in po if e.fuzzy]
        for e in fuzzy:
            e.msgstr = ""
            e.msgstr_plural = dict.fromkeys(e.msgstr_plural, "")
            e.flags.remove("fuzzy")
        if fuzzy:
            po.save()
    for path, old in before.items():
        if _entries(polib.pofile(old.decode())) == _entries(polib.pofile(str(path))):
            path.write_bytes(old)


def _entries(po: polib.POFile) -> list[tuple]:
    return [(e.msgctxt, e.msgid, e.msgid_plural, e.msgstr, tuple(sorted(e.msgstr_plural.items())), e.fuzzy) for e in po]


def fill_traditional() -> None:
    import opencc

    convert = opencc.OpenCC("s2twp").convert
    hans = {(e.msgctxt, e.msgid): e for e in polib.pofile(str(catalogue("zh_Hans", "django")))}
    path = catalogue("zh_Hant", "django")
    hant = polib.pofile(str(path))
    changed = False
    for entry in hant:
        source = hans.get((entry.msgctxt, entry.msgid))
        if source is None:
            continue
        if entry.msgid_plural:
            if not any(entry.msgstr_plural.values()) and any(source.msgstr_plural.values()):
                entry.msgstr_plural = {k: convert(v) for k, v in source.msgstr_plural.items()}
                changed = True
        elif not entry.msgstr and source.msgstr:
            entry.msgstr = convert(source.msgstr)
            changed = True
        if entry.fuzzy and (entry.msgstr or any(entry.msgstr_plural.values())) and not source.fuzzy:
            entry.flags.remove("fuzzy")
            changed = True
    if changed:
        hant.save()


def missing(lang: str) -> list[str]:
    po = polib.pofile(str(catalogue(lang, "django")))
    gaps = []
    for e in po:
        if e.obsolete:
            continue
        empty = not any(e.msgstr_plural.values()) if e.msgid_plural else not e.msgstr
        if empty or e.fuzzy:
            gaps.append(e.msgid)
    return gaps


def compile_all() -> None:
    for lang in LANGS:
        po_path = catalogue(lang, "django")
        po = polib.pofile(str(po_path))
        po.metadata["Plural-Forms"] = PLURAL
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
        po.save_as_mofile(str(po_path.with_suffix(".mo")))


# The names makemessages extracts strings from (xgettext's keywords in Django's command). A
# translation function imported under any other name hides its strings from the catalogues.
KEYWORDS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext",
            "pgettext_lazy", "npgettext", "npgettext_lazy"}
ALIAS = re.compile(r"import\s+(n?p?gettext(?:_lazy|_noop)?)\s+as\s+(\w+)")


def hidden_aliases() -> list[str]:
    """Imports of a translation function under a name makemessages does not read."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in ALIAS.finditer(line):
                if match.group(2) not in KEYWORDS:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(1)} as {match.group(2)}")
    return found


def main() -> int:
    hidden = hidden_aliases()
    if hidden:
        print("strings behind these names are not extracted; import the function as _ or by its own name:",
              *hidden, sep="\n  ", file=sys.stderr)
        return 1
    extract()
    if "--check" in sys.argv:
        problems = {lang: missing(lang) for lang in LANGS}
        bad = {k: v for k, v in problems.items() if v}
        for lang, ids in bad.items():
            print(f"{lang}: {len(ids)} untranslated or fuzzy strings:", file=sys.stderr)
            for msgid in ids[:40]:
                print(f"  {msgid!r}", file=sys.stderr)
        return 1 if bad else 0
    fill_traditional()
    compile_all()
    for lang in LANGS:
        gaps = missing(lang)
        print(f"{lang}: {len(gaps)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
