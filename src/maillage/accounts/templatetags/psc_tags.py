"""``{% psc_button next %}``: the Pro Santé Connect button of the login page, only when the
feature is configured (:func:`maillage.accounts.psc.enabled`, read at each rendering)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("accounts/psc_button.html")
def psc_button(next_url: str = "") -> dict[str, Any]:
    # imported here: every template engine loads this library, most pages never show the button
    from maillage.accounts import psc

    return {"psc_enabled": psc.enabled(), "next": next_url}
