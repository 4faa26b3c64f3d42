"""Phone numbers: stored in one form (E.164), searched and compared by their digits.

People type a number in every form: "166 1320 7659", "+86 166-1320-7659", "(021) 6232 1234",
"0086 138 0013 8000". Every write path (the services behind the API and the admin, the imports,
the generator) stores it in E.164, "+8616613207659", parsed by ``phonenumbers`` with
``settings.PATRON_PHONE_REGION`` as the country of a number typed without a country code; a text
that is not a valid number of that country (or of the country its "+" names) is refused with the
reason. Beside it, ``phone_digits`` holds the E.164 digits without the "+" ("8616613207659"),
indexed: the search matches it from its start, with or without the country code
(``phone_prefixes``), and duplicate detection compares it.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

NON_DIGIT = re.compile(r"\D+")


def digits(text: str) -> str:
    return NON_DIGIT.sub("", text or "")


@cache
def _country_code(region: str) -> str:
    code = phonenumbers.country_code_for_region(region)
    return str(code) if code else ""


@cache
def _national_prefix(region: str) -> str:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (meta.national_prefix or "") if meta is not None else ""


def phone_normalise(phone: str, *, region: str | None = None) -> str:
    """``phone`` in E.164 ("" stays ""); ValidationError (code ``invalid_phone``) when it is not
    a valid phone number."""
    text = (phone or "").strip()
    if not text:
        return ""
    region = region or settings.PATRON_PHONE_REGION
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            gettext(
                "“%(value)s” is not a valid phone number. Type the whole number; a number outside "
                "%(region)s starts with + and its country code."
            )
            % {"value": text[:40], "region": region},
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_digits(phone: str, *, region: str | None = None) -> str:
    """The digits the search and the duplicate check compare: those of the E.164 form without the
    "+"; for a text that is no valid number (stored before numbers were checked), its own digits."""
    try:
        return digits(phone_normalise(phone, region=region))
    except ValidationError:
        return digits(phone)


def phone_prefixes(q: str) -> list[str]:
    """What ``phone_digits`` may start with for a number typed as ``q``, from its start: the
    digits as typed ("+86 166 1320", "8616613"), and for a national number typed without the
    country code ("166 1320", "021 6232") the default region's code before it (without the
    national prefix 0). Empty when ``q`` has too few digits to search on."""
    typed = digits(q)
    if len(typed) < 3:
        return []
    if q.strip().startswith("+"):
        return [typed]
    if typed.startswith("00"):  # the international call prefix: 0086 ...
        return [typed[2:]] if len(typed) > 4 else []
    region = settings.PATRON_PHONE_REGION
    national = typed
    prefix = _national_prefix(region)
    if prefix and national.startswith(prefix):
        national = national[len(prefix) :]
    prefixes = [typed]
    code = _country_code(region)
    if code and national:
        prefixes.append(code + national)
    return list(dict.fromkeys(prefixes))


def phone_display(phone: str) -> str:
    """A stored number as people read it: national form for the home country ("166 1320 7659"),
    international for others ("+1 415-555-0100"); a text that is no number (stored before the
    E.164 rule) as it is."""
    try:
        number = phonenumbers.parse(phone, settings.PATRON_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_possible_number(number):
        return phone
    home = phonenumbers.region_code_for_number(number) == settings.PATRON_PHONE_REGION
    style = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return str(phonenumbers.format_number(number, style))


def phone_and_digits(phone: str | None) -> tuple[str, str]:
    """What a service stores for a typed number: E.164 and its digits; a ValidationError on the
    ``phone`` field when it is no number (for a form or the API to show beside the field)."""
    try:
        e164 = phone_normalise(phone or "")
    except ValidationError as exc:
        raise ValidationError({"phone": exc.error_list}) from None
    return e164, digits(e164)
