"""Template filters that write numbers the French way in reports.

``{% load report_format %}`` then ``{{ value|fr_number:1 }}``, ``{{ share|fr_percent }}``,
``{{ minutes|fr_minutes }}``, ``{{ iso_timestamp|fr_date }}``. Every filter prints ``n.d.`` for a
missing value, so templates never need an ``{% if value is None %}`` around a number. The logic
lives in :mod:`maillage.observatory.report.formatting`, shared with the SVG maps and charts.
"""

from __future__ import annotations

from django import template

from maillage.observatory.report import formatting

register = template.Library()


@register.filter
def fr_number(value: object, decimals: int | str = 0) -> str:
    """``58982`` → ``58 982`` (narrow no-break space); ``6.1`` with ``:1`` → ``6,1``."""
    return formatting.fr_number(value, int(decimals))


@register.filter
def fr_percent(value: object, decimals: int | str = 0) -> str:
    """A share in [0, 1]: ``0.45`` → ``45 %``; tiny positive shares → ``< 1 %``."""
    return formatting.fr_percent(value, int(decimals))


@register.filter
def fr_minutes(value: object, decimals: int | str = 1) -> str:
    """A travel time in minutes: ``14.2`` → ``14,2 min``."""
    return formatting.fr_minutes(value, int(decimals))


@register.filter
def fr_date(value: object) -> str:
    """An ISO timestamp → ``22 novembre 2026``."""
    return formatting.fr_date(value)
