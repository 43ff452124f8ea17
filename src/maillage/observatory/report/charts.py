"""Small inline-SVG charts for the diagnostic report.

Why not matplotlib: the report is one self-contained HTML file also printed by WeasyPrint, and a
chart here is a handful of rectangles and labels. Writing them directly keeps the output tiny,
vector-sharp on paper, typeset in the report's font with French number formatting, and avoids a
heavy dependency. Values may be ``None`` (figures are tolerant of missing data): the bar is
omitted and ``n.d.`` is written in its place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from maillage.observatory.report.formatting import NBSP, fr_number, to_number
from maillage.observatory.report.svgmap import FONT, MUTED, TEXT, _wrap

GRID = "#d5dbe3"

# Territory first and darkest; references in lighter blues and a neutral grey for France, so the
# territory stands out in colour and in greyscale print alike.
SERIES_COLORS = ["#1f4e79", "#5b8fc7", "#a9c4e2", "#c9ccd1"]


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × 10^k)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value * 0.999999:
            return step * magnitude
    return 10 * magnitude


def _ticks(maximum: float, count: int = 5) -> list[float]:
    step = maximum / count
    return [step * i for i in range(count + 1)]


def comparison_bars_svg(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    title: str,
    unit: str = "",
    decimals: int = 1,
    colors: Sequence[str] | None = None,
) -> str:
    """Grouped horizontal bars: one group per category, one bar per series.

    Built for "territoire vs département vs région vs France" densities: ``groups`` is
    ``[("Médecins généralistes", [6.2, 6.6, 9.0, 8.9]), ...]`` and ``series`` the names of the
    compared areas, in the same order as the values.
    """
    colors = list(colors or SERIES_COLORS)
    width = 900
    label_w = 250
    bar_x = label_w + 10
    bar_w = width - bar_x - 70
    bar_h = 13
    gap = 3
    group_gap = 16
    legend_h = 40
    top = legend_h + 10
    numbers = [to_number(v) for _, values in groups for v in values]
    maximum = _nice_max(max([v for v in numbers if v is not None] or [1.0]))
    n_series = len(series)
    group_h = n_series * (bar_h + gap) - gap
    height = top + len(groups) * (group_h + group_gap) + 34

    out: list[str] = []
    # legend
    x = 0.0
    for i, name in enumerate(series):
        color = colors[i % len(colors)]
        out.append(
            f'<rect x="{x:.0f}" y="8" width="16" height="16" fill="{color}"/>'
            f'<text x="{x + 22:.0f}" y="21" font-size="15" fill="{TEXT}">{escape(name)}</text>'
        )
        x += 40 + 7.4 * len(name)
    # grid and axis
    axis_y = top + len(groups) * (group_h + group_gap) - group_gap + 8
    for tick in _ticks(maximum):
        tx = bar_x + bar_w * tick / maximum
        out.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{axis_y:.0f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 18:.0f}" font-size="13" fill="{MUTED}" '
            f'text-anchor="middle">{fr_number(tick, 1 if maximum < 10 else 0)}</text>'
        )
    if unit:
        out.append(
            f'<text x="{bar_x + bar_w:.0f}" y="{axis_y + 34:.0f}" font-size="13" fill="{MUTED}" '
            f'text-anchor="end">{escape(unit)}</text>'
        )
    y = float(top)
    for label, values in groups:
        lines = _wrap(label, 30)
        label_y = y + group_h / 2 - (len(lines) - 1) * 8 + 5
        for k, line in enumerate(lines):
            out.append(
                f'<text x="{label_w:.0f}" y="{label_y + 16 * k:.0f}" font-size="15" '
                f'fill="{TEXT}" text-anchor="end">{escape(line)}</text>'
            )
        for i in range(n_series):
            value = to_number(values[i]) if i < len(values) else None
            by = y + i * (bar_h + gap)
            color = colors[i % len(colors)]
            if value is None:
                out.append(
                    f'<text x="{bar_x + 4:.0f}" y="{by + bar_h - 2:.0f}" font-size="12" '
                    f'fill="{MUTED}">n.d.</text>'
                )
                continue
            w = max(0.0, bar_w * value / maximum)
            bold = ' font-weight="bold"' if i == 0 else ""
            out.append(
                f'<rect x="{bar_x}" y="{by:.0f}" width="{w:.1f}" height="{bar_h}" fill="{color}">'
                f"<title>{escape(series[i])}{NBSP}: {fr_number(value, decimals)}</title></rect>"
                f'<text x="{bar_x + w + 5:.1f}" y="{by + bar_h - 2:.0f}" font-size="12" '
                f'fill="{TEXT}"{bold}>{fr_number(value, decimals)}</text>'
            )
        y += group_h + group_gap
    out.append(
        f'<line x1="{bar_x}" y1="{top - 4}" x2="{bar_x}" y2="{axis_y:.0f}" stroke="{MUTED}" '
        'stroke-width="1.2"/>'
    )
    return _svg(width, height, title, "".join(out))


def column_chart_svg(
    categories: Sequence[str],
    values: Sequence[float | None],
    title: str,
    colors: Sequence[str] | str = SERIES_COLORS[0],
    value_labels: Sequence[str] | None = None,
    axis_label: str = "",
    value_format: Callable[[float | None], str] | None = None,
) -> str:
    """Vertical bars with a label above each bar, e.g. the population by class of APL.

    ``colors`` may be one colour or one per category (to echo the map classes); ``value_labels``
    replaces the default formatted value above the bars (e.g. "20 000 hab. (35 %)").
    """
    fmt = value_format or (lambda v: fr_number(v, 0))
    width, height = 900, 330
    left, right, top, bottom = 70, 20, 40, 70
    plot_w = width - left - right
    plot_h = height - top - bottom
    numbers = [to_number(v) for v in values]
    maximum = _nice_max(max([v for v in numbers if v is not None] or [1.0]))
    n = max(len(categories), 1)
    slot = plot_w / n
    bar_w = min(110.0, slot * 0.62)
    out: list[str] = []
    for tick in _ticks(maximum, 4):
        ty = top + plot_h - plot_h * tick / maximum
        out.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{ty + 4:.1f}" font-size="13" fill="{MUTED}" '
            f'text-anchor="end">{fr_number(tick, 0 if maximum >= 10 else 1)}</text>'
        )
    if axis_label:
        out.append(
            f'<text x="{left - 8}" y="{top - 18}" font-size="13" fill="{MUTED}" '
            f'text-anchor="start" transform="translate(-60 0)">{escape(axis_label)}</text>'
        )
    for i, category in enumerate(categories):
        value = numbers[i] if i < len(numbers) else None
        cx = left + slot * (i + 0.5)
        color = colors if isinstance(colors, str) else colors[i % len(colors)]
        label = value_labels[i] if value_labels and i < len(value_labels) else fmt(value)
        if value is not None:
            h = plot_h * value / maximum
            out.append(
                f'<rect x="{cx - bar_w / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{color}" stroke="#7b8794" stroke-width="0.8">'
                f"<title>{escape(category)}{NBSP}: {escape(label)}</title></rect>"
            )
            label_y = top + plot_h - h - 8
        else:
            label_y = top + plot_h - 8
        out.append(
            f'<text x="{cx:.1f}" y="{label_y:.1f}" font-size="14" fill="{TEXT}" '
            f'text-anchor="middle" font-weight="bold">{escape(label)}</text>'
        )
        for k, line in enumerate(_wrap(category, max(8, int(slot / 8.5)))):
            out.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 22 + 17 * k:.1f}" font-size="14" '
                f'fill="{TEXT}" text-anchor="middle">{escape(line)}</text>'
            )
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        f'stroke="{MUTED}" stroke-width="1.2"/>'
    )
    return _svg(width, height, title, "".join(out))


def _svg(width: float, height: float, title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" role="img" font-family={quoteattr(FONT)}>'
        f"<title>{escape(title)}</title>{body}</svg>"
    )
