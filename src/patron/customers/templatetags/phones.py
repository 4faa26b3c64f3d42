"""``{{ number|phone }}``: a stored (E.164) phone number shown as people read it."""

from __future__ import annotations

from django import template

from patron.customers.phones import phone_display

register = template.Library()


@register.filter(name="phone")
def phone(value: str | None) -> str:
    return phone_display(value) if value else ""
