"""English, Simplified and Traditional Chinese: catalogues complete, cookie and switcher work."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import make_customer, make_order

ROOT = Path(__file__).resolve().parents[2]


def _i18n_script():
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant"])
def test_catalogues_have_no_untranslated_strings(lang):
    assert _i18n_script().missing(lang) == []


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant"])
def test_compiled_catalogue_matches_source(lang):
    import polib

    po = polib.pofile(str(ROOT / "src/patron/locale" / lang / "LC_MESSAGES/django.po"))
    mo = polib.mofile(str(ROOT / "src/patron/locale" / lang / "LC_MESSAGES/django.mo"))
    compiled = {(e.msgctxt, e.msgid): (e.msgstr or e.msgstr_plural.get(0, "")) for e in mo}
    source = {(e.msgctxt, e.msgid): (e.msgstr or e.msgstr_plural.get(0, "")) for e in po if not e.obsolete}
    source = {k: v for k, v in source.items() if v}  # untranslated strings are not compiled
    assert compiled == source, "run .venv/bin/python scripts/i18n.py to recompile"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cookie", "expected", "absent"),
    [("en", "Profit to date", "累计利润"), ("zh-hans", "累计利润", "Profit to date"), ("zh-hant", "累計利潤", "Profit to date")],
)
def test_360_page_follows_language_cookie(client, alice, cookie, expected, absent):
    customer = make_customer("王芳", owner=alice)
    make_order(customer, external_id="ORD-1")
    client.force_login(alice)
    client.cookies["django_language"] = cookie
    page = client.get(customer.get_absolute_url()).content.decode()
    assert expected in page and absent not in page
    assert f'<html lang="{cookie}">' in page


@pytest.mark.django_db
def test_switcher_sets_cookie_without_url_prefix(client, alice):
    client.force_login(alice)
    response = client.post(reverse("set_language"), {"language": "zh-hant", "next": "/customers/"})
    assert response.status_code == 302 and response.url == "/customers/"
    assert client.cookies["django_language"].value == "zh-hant"
    assert "客戶" in client.get("/customers/").content.decode()


@pytest.mark.django_db
def test_chinese_number_and_date_formats(client, alice):
    from decimal import Decimal

    from tests.factories import make_product

    customer = make_customer("Big", owner=alice)
    make_order(customer, product=make_product(price=Decimal("12345.60"), cost=0))
    client.force_login(alice)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "12,345.60" in page
