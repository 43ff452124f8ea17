"""Choropleth maps of communes as self-contained inline SVG.

Why SVG written by hand rather than matplotlib or a web map: the report must be one HTML file
that opens offline and prints through WeasyPrint, and the same markup must serve both. A
hand-written SVG is small, crisp on paper, carries one ``<title>`` per commune for hover in a
browser, and needs no dependency.

Geometry handling is deliberately simple and fast (a département of ~430 communes renders in a
few tens of milliseconds):

- equirectangular projection centred on the map's mean latitude (x scaled by ``cos(lat0)``),
  accurate to well under 1 % at the scale of a département, so that distances on the scale bar
  and shapes look right;
- coordinates are scaled so the longest side is :data:`MAP_SIZE` units, simplified by
  Douglas-Peucker at :data:`SIMPLIFY` units (about 0.1 mm on paper), rounded to integers and
  written as relative moves (``l3-4 5 6``): a département map is about 90 KB and, more to the
  point, WeasyPrint draws it twice as fast (its SVG path drawing costs ~25 µs per point). A
  commune that would collapse at that precision is re-drawn unsimplified with one decimal, so
  every commune with a shape gets its path.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

from maillage.observatory.report.formatting import NBSP, NNBSP, fr_number, to_number

Classes = list[tuple[float, float, str, str]]
"""Map classes: ``(lower, upper, colour, label)``; a value ``v`` is in a class when
``lower <= v < upper`` (the last class also takes ``v == upper``)."""

MAP_SIZE = 1000  # longest side of the map frame, in SVG user units
HIGHLIGHT_OUTLINES = 40  # beyond this many highlighted communes, dots replace outlines
SIMPLIFY = 0.8  # Douglas-Peucker tolerance in map units (~0.1 mm on paper): invisible, halves size
PRINT_MM_PER_UNIT = 0.137
"""The largest size of a map unit on the PDF's A4 page, in mm: a map is at most 180 mm wide
(page minus margins) and 140 mm high (print CSS), its SVG at least ``MAP_SIZE + 450`` units wide
(frame, padding and legend) when the frame is wider than high, else at least ``MAP_SIZE + 2 *
PAD`` units high: 180 / 1450 = 0.124, 140 / 1024 = 0.137."""
PRINT_SIMPLIFY = 0.19 / PRINT_MM_PER_UNIT
"""Douglas-Peucker tolerance of the PDF's maps (~1.4 units): no printed outline moves by more
than 0.19 mm, under the width of the white line between communes plus the eye's resolution on
paper, and WeasyPrint draws each path point (~10 µs) and the PDF embeds it."""
LEGEND_WIDTH = 390
PAD = 12
FONT = "Liberation Sans, Arial, Helvetica, DejaVu Sans, sans-serif"
TEXT = "#1f2933"
MUTED = "#5f6b7a"
NO_DATA_FILL = "#f0f0f0"
KM_PER_DEGREE = 111.32

# ColorBrewer schemes (Cynthia Brewer, Apache-2.0 licensed colour specifications), all
# colour-blind safe and legible in greyscale for the sequential ones.
PALETTES: dict[str, list[str]] = {
    # sequential, light → dark
    "YlOrRd5": ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    "YlGnBu5": ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    "YlGnBu6": ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
    "PuBu6": ["#f1eef6", "#d0d1e6", "#a6bddb", "#74a9cf", "#2b8cbe", "#045a8d"],
    # diverging, low (red) → high (blue): used for the APL, where low means under-served
    "RdYlBu6": ["#d73027", "#fc8d59", "#fee090", "#e0f3f8", "#91bfdb", "#4575b4"],
}


# --------------------------------------------------------------------------- classes


def classes_from_breaks(
    breaks: Sequence[float],
    colors: Sequence[str],
    decimals: int = 1,
    unit: str = "",
) -> Classes:
    """Classes from inner thresholds: ``n`` breaks give ``n + 1`` classes and colours.

    Labels read ``< 1,5``, ``1,5 à 2,5``, ``≥ 4,5`` (a value equal to a break belongs to the
    class above it, which is how "sous le seuil de 2,5" is meant).
    """
    if len(colors) != len(breaks) + 1:
        raise ValueError(f"{len(breaks)} breaks need {len(breaks) + 1} colours, got {len(colors)}")
    suffix = f"{NNBSP}{unit}" if unit else ""
    bounds = [-math.inf, *breaks, math.inf]
    classes: Classes = []
    for i, color in enumerate(colors):
        lower, upper = bounds[i], bounds[i + 1]
        if lower == -math.inf:
            label = f"< {fr_number(upper, decimals)}{suffix}"
        elif upper == math.inf:
            label = f"≥ {fr_number(lower, decimals)}{suffix}"
        else:
            label = f"{fr_number(lower, decimals)} à {fr_number(upper, decimals)}{suffix}"
        classes.append((lower, upper, color, label))
    return classes


def quantile_breaks(values: Iterable[float | None], n: int, decimals: int = 1) -> list[float]:
    """``n - 1`` rounded, strictly increasing quantile thresholds (fewer if the data are lumpy).

    Used where no official threshold exists (e.g. the maillage index), so that each colour holds
    roughly as many communes.
    """
    data = sorted(v for v in (to_number(x) for x in values) if v is not None)
    if not data:
        return []
    out: list[float] = []
    for k in range(1, n):
        q = data[min(len(data) - 1, int(round(k * len(data) / n)))]
        q = round(q, decimals)
        if q > data[0] and (not out or q > out[-1]):
            out.append(q)
    return out


def spread_palette(palette: Sequence[str], n: int) -> list[str]:
    """``n`` colours taken evenly along a sequential palette (light to dark)."""
    if n <= 1:
        return [palette[len(palette) // 2]]
    last = len(palette) - 1
    return [palette[min(last, round(i * last / (n - 1)))] for i in range(n)]


def classify(value: float | None, classes: Classes) -> int | None:
    """Index of the class holding ``value``, or ``None`` for a missing value."""
    number = to_number(value)
    if number is None or not classes:
        return None
    for i, (lower, upper, _color, _label) in enumerate(classes):
        if lower <= number < upper:
            return i
    if number >= classes[-1][1]:
        return len(classes) - 1
    return 0


# --------------------------------------------------------------------------- geometry


def _polygons(geometry: Mapping | None) -> list[list[list[Sequence[float]]]]:
    """The polygons (lists of rings) of a GeoJSON Polygon/MultiPolygon; anything else is empty."""
    if not geometry:
        return []
    kind = geometry.get("type")
    coords = geometry.get("coordinates") or []
    if kind == "Polygon":
        return [coords]
    if kind == "MultiPolygon":
        return list(coords)
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries", []) for p in _polygons(g)]
    return []


def _ring_area_centroid(ring: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    """Signed shoelace area and centroid of a ring in its own planar coordinates."""
    area2 = cx = cy = 0.0
    n = len(ring)
    for i in range(n):
        x0, y0 = ring[i][0], ring[i][1]
        x1, y1 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        cross = x0 * y1 - x1 * y0
        area2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area2 == 0:
        xs = [p[0] for p in ring] or [0.0]
        ys = [p[1] for p in ring] or [0.0]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area2 / 2, cx / (3 * area2), cy / (3 * area2)


def area_km2(geometry: Mapping | None) -> float | None:
    """Area of a WGS84 (Multi)Polygon in km², by a local equirectangular projection.

    Good to a fraction of a percent for communes, which is all a population density needs.
    """
    total = 0.0
    for polygon in _polygons(geometry):
        if not polygon or not polygon[0]:
            continue
        lat0 = math.radians(sum(p[1] for p in polygon[0]) / len(polygon[0]))
        kx = KM_PER_DEGREE * math.cos(lat0)
        for i, ring in enumerate(polygon):
            planar = [(p[0] * kx, p[1] * KM_PER_DEGREE) for p in ring]
            area = abs(_ring_area_centroid(planar)[0])
            total += area if i == 0 else -area
    return total if total > 0 else None


class _Projection:
    """Equirectangular projection fitted to a frame whose longest side is ``size`` units."""

    def __init__(self, geometries: Iterable[Mapping], size: float = MAP_SIZE) -> None:
        lons: list[float] = []
        lats: list[float] = []
        for geometry in geometries:
            for polygon in _polygons(geometry):
                for point in polygon[0] if polygon else []:
                    lons.append(point[0])
                    lats.append(point[1])
        if not lons:
            lons, lats = [0.0, 1.0], [0.0, 1.0]
        self.min_lon, self.max_lon = min(lons), max(lons)
        self.min_lat, self.max_lat = min(lats), max(lats)
        self.kx = math.cos(math.radians((self.min_lat + self.max_lat) / 2))
        span_x = max((self.max_lon - self.min_lon) * self.kx, 1e-9)
        span_y = max(self.max_lat - self.min_lat, 1e-9)
        self.scale = size / max(span_x, span_y)
        self.width = span_x * self.scale
        self.height = span_y * self.scale

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.min_lon) * self.kx * self.scale, (self.max_lat - lat) * self.scale

    @property
    def key(self) -> tuple[float, ...]:
        return (self.min_lon, self.max_lon, self.min_lat, self.max_lat, self.kx, self.scale)

    @property
    def km_per_unit(self) -> float:
        return KM_PER_DEGREE / self.scale


def _num(value: float, precision: int) -> str:
    if precision == 0:
        return str(int(value))
    text = f"{value:.{precision}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _join(numbers: Sequence[str]) -> str:
    """Join path numbers with the fewest separators: a minus sign is its own separator."""
    parts: list[str] = []
    for i, n in enumerate(numbers):
        if i and not n.startswith("-"):
            parts.append(" ")
        parts.append(n)
    return "".join(parts)


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on an open chain (iterative, so deep rings cannot overflow the stack)."""
    if tolerance <= 0 or len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    tol2 = tolerance * tolerance
    while stack:
        first, last = stack.pop()
        ax, ay = points[first]
        bx, by = points[last]
        dx, dy = bx - ax, by - ay
        norm = dx * dx + dy * dy
        worst, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d2 = (px - ax) ** 2 + (py - ay) ** 2
            else:
                cross = dx * (py - ay) - dy * (px - ax)
                d2 = cross * cross / norm
            if d2 > worst:
                worst, index = d2, i
        if index > 0 and worst > tol2:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def _simplify_ring(ring: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Simplify a closed ring: split it at the vertex farthest from its first one, simplify both
    halves, so the ring keeps its extent."""
    if tolerance <= 0 or len(ring) < 5:
        return ring
    x0, y0 = ring[0]
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - x0) ** 2 + (ring[i][1] - y0) ** 2)
    if far == 0:
        return ring
    first = _simplify(ring[: far + 1], tolerance)
    second = _simplify([*ring[far:], ring[0]], tolerance)
    out = first[:-1] + second[:-1]
    return out if len(out) >= 3 else ring


def _path_data(
    geometry: Mapping, project: _Projection, precision: int, tolerance: float = 0.0
) -> str:
    factor = 10**precision
    commands: list[str] = []
    for polygon in _polygons(geometry):
        for ring in polygon:
            projected = [project(p[0], p[1]) for p in ring]
            if len(projected) > 1 and projected[0] == projected[-1]:
                projected.pop()
            projected = _simplify_ring(projected, tolerance)
            points: list[tuple[int, int]] = []
            for x, y in projected:
                q = (round(x * factor), round(y * factor))
                if not points or q != points[-1]:
                    points.append(q)
            if len(points) > 1 and points[0] == points[-1]:
                points.pop()
            if len(points) < 3:
                continue
            x0, y0 = points[0]
            rel: list[str] = []
            px, py = x0, y0
            for x, y in points[1:]:
                rel.append(_num((x - px) / factor, precision))
                rel.append(_num((y - py) / factor, precision))
                px, py = x, y
            start = _join([_num(x0 / factor, precision), _num(y0 / factor, precision)])
            commands.append(f"M{start}l{_join(rel)}z")
    return "".join(commands)


# A report draws the same communes in several maps (and again for print), with the same
# projection: their path data is computed once. Entries hold their geometry, so an ``id`` is
# never reused while it is a key; the memo is emptied when it grows past a national map.
_PATH_MEMO: dict[tuple, tuple[Mapping, str]] = {}
_PATH_MEMO_MAX = 50_000


def _cached_path_data(geometry: Mapping, project: _Projection, simplify: float) -> str:
    key = (id(geometry), project.key, simplify)
    hit = _PATH_MEMO.get(key)
    if hit is not None and hit[0] is geometry:
        return hit[1]
    data = (
        _path_data(geometry, project, 0, simplify)
        or _path_data(geometry, project, 1)
        or _path_data(geometry, project, 2)
    )
    if len(_PATH_MEMO) >= _PATH_MEMO_MAX:
        _PATH_MEMO.clear()
    _PATH_MEMO[key] = (geometry, data)
    return data


def _label_point(geometry: Mapping, project: _Projection) -> tuple[float, float] | None:
    """Centroid of the largest outer ring, in map units (where a commune's name goes)."""
    best: tuple[float, float, float] | None = None
    for polygon in _polygons(geometry):
        if not polygon:
            continue
        ring = [project(p[0], p[1]) for p in polygon[0]]
        area, cx, cy = _ring_area_centroid(ring)
        if best is None or abs(area) > best[0]:
            best = (abs(area), cx, cy)
    return (best[1], best[2]) if best else None


def _nice_length(max_km: float) -> float:
    """The largest 1-2-5 length (km) not exceeding ``max_km``."""
    if max_km <= 0:
        return 1.0
    exponent = math.floor(math.log10(max_km))
    for mantissa in (5, 2, 1):
        length = mantissa * 10**exponent
        if length <= max_km:
            return float(length)
    return float(10**exponent)


# --------------------------------------------------------------------------- SVG


def _uid(*parts: object) -> str:
    digest = hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()
    return "m" + digest[:8]


def _default_format(value: float | None) -> str:
    return fr_number(value, 1)


def choropleth_svg(
    shapes: Mapping[str, Mapping],
    values: Mapping[str, float | None],
    classes: Classes | Sequence[float],
    title: str,
    legend_title: str,
    highlight: set[str] | None = None,
    *,
    names: Mapping[str, str] | None = None,
    labels: Iterable[str] | None = None,
    value_format: Callable[[float | None], str] | None = None,
    no_data_label: str = "Non renseigné",
    highlight_label: str = "Commune signalée",
    legend_counts: bool = True,
    note: str | None = None,
    uid: str | None = None,
    simplify: float = SIMPLIFY,
) -> str:
    """An inline SVG choropleth of communes.

    ``shapes`` maps a commune code to its WGS84 GeoJSON geometry; every code in ``shapes`` is drawn
    (one ``<path data-code=…>`` each) and coloured by ``values[code]`` through ``classes`` (see
    :func:`classes_from_breaks`; bare breaks such as ``[10, 20, 30]`` get a YlOrRd ramp); a code
    without a value is hatched as "no data". ``highlight`` codes get a dark outline drawn on top
    (hollow dots instead past :data:`HIGHLIGHT_OUTLINES` communes, where outlines would blacken
    the map), e.g. the communes under a threshold; ``labels`` codes get their name
    written on the map. ``names`` feed the hover ``<title>`` of each path ("Saint-Dizier (52448) :
    2,9"). The result has no external reference and unique ids (``uid``), so several maps can
    live in one HTML page.
    """
    if classes and not isinstance(classes[0], tuple):  # bare breaks: sequential YlOrRd
        breaks = [float(b) for b in classes]  # type: ignore[arg-type]
        classes = classes_from_breaks(breaks, spread_palette(PALETTES["YlOrRd5"], len(breaks) + 1))
    classes = list(classes)  # type: ignore[arg-type]
    names = names or {}
    fmt = value_format or _default_format
    highlight = set(highlight or ())
    uid = uid or _uid(title, legend_title, len(shapes))
    drawable = {code: geom for code, geom in shapes.items() if _polygons(geom)}
    project = _Projection(drawable.values())

    map_w, map_h = project.width, project.height
    ox, oy = PAD, PAD  # map origin
    legend_x = ox + map_w + 3 * PAD

    counts = [0] * len(classes)
    no_data = 0
    paths: list[str] = []
    overlays: list[str] = []
    path_data: dict[str, str] = {}
    for code in sorted(drawable):
        geometry = drawable[code]
        data = _cached_path_data(geometry, project, simplify)
        path_data[code] = data
        value = values.get(code)
        idx = classify(value, classes)
        if idx is None:
            fill = f"url(#{uid}-nd)"
            no_data += 1
        else:
            fill = classes[idx][2]
            counts[idx] += 1
        name = names.get(code, code)
        tip = f"{name} ({code}){NBSP}: {fmt(to_number(value))}"
        paths.append(
            f'<path data-code="{escape(code)}" d="{data}" fill="{fill}">'
            f"<title>{escape(tip)}</title></path>"
        )
        if code in highlight:
            overlays.append(code)

    label_marks: list[str] = []
    for code in labels or ():
        if code not in drawable:
            continue
        point = _label_point(drawable[code], project)
        if point is None:
            continue
        x, y = point
        # Above the dot, unless that would leave the frame (then below it).
        ty = y - 12 if y - 12 - 26 > -oy else y + 32
        text = escape(names.get(code, code))
        label_marks.append(
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="5" fill="{TEXT}" stroke="#fff" '
            'stroke-width="2"/>'
            f'<text x="{x:.0f}" y="{ty:.0f}" text-anchor="middle" font-size="26" '
            f'font-weight="bold" stroke="#fff" stroke-width="6" stroke-linejoin="round" '
            f'fill="#fff">{text}</text>'
            f'<text x="{x:.0f}" y="{ty:.0f}" text-anchor="middle" font-size="26" '
            f'font-weight="bold" fill="{TEXT}">{text}</text>'
        )

    # Legend: title, one swatch per class (with commune counts), no-data, then scale and north.
    legend: list[str] = []
    ly = oy + 4
    for line in _wrap(legend_title, 25):
        ly += 31
        legend.append(
            f'<text x="{legend_x:.0f}" y="{ly:.0f}" font-size="27" font-weight="bold" '
            f'fill="{TEXT}">{escape(line)}</text>'
        )
    ly += 14
    rows = [(c[2], c[3], counts[i]) for i, c in enumerate(classes)]
    if no_data:
        rows.append((f"url(#{uid}-nd)", no_data_label, no_data))
    for fill, label, count in rows:
        legend.append(
            f'<rect x="{legend_x:.0f}" y="{ly:.0f}" width="44" height="30" fill="{fill}" '
            f'stroke="#8a94a3" stroke-width="1"/>'
            f'<text x="{legend_x + 54:.0f}" y="{ly + 23:.0f}" font-size="25" fill="{TEXT}">'
            f"{escape(label)}"
            + (f'<tspan fill="{MUTED}" font-size="21"> ({count})</tspan>' if legend_counts else "")
            + "</text>"
        )
        ly += 39
    # Many outlined communes make a dark tangle: past HIGHLIGHT_OUTLINES, mark them with dots.
    dots = len(highlight & set(drawable)) > HIGHLIGHT_OUTLINES
    if highlight & set(drawable):
        swatch = (
            f'<circle cx="{legend_x + 22:.0f}" cy="{ly + 15:.0f}" r="6" fill="#fff" '
            f'stroke="{TEXT}" stroke-width="2.4"/>'
            if dots
            else f'<rect x="{legend_x:.0f}" y="{ly:.0f}" width="44" height="30" fill="none" '
            f'stroke="{TEXT}" stroke-width="3"/>'
        )
        legend.append(
            swatch
            + f'<text x="{legend_x + 54:.0f}" y="{ly + 23:.0f}" font-size="25" fill="{TEXT}">'
            f"{escape(highlight_label)}</text>"
        )
        ly += 39
    if legend_counts:
        legend.append(
            f'<text x="{legend_x:.0f}" y="{ly + 18:.0f}" font-size="20" fill="{MUTED}">'
            "(nombre de communes)</text>"
        )
        ly += 30

    # Scale bar: a 1-2-5 length no longer than 30 % of the legend width or a third of the map.
    max_units = min(LEGEND_WIDTH * 0.7, map_w / 2)
    km = _nice_length(max_units * project.km_per_unit)
    bar = km / project.km_per_unit
    ly += 40
    km_text = fr_number(km, 0 if km >= 1 else 1)
    legend.append(
        f'<g fill="{TEXT}" font-size="22">'
        f'<rect x="{legend_x:.0f}" y="{ly:.0f}" width="{bar / 2:.1f}" height="8"/>'
        f'<rect x="{legend_x + bar / 2:.1f}" y="{ly:.0f}" width="{bar / 2:.1f}" height="8" '
        f'fill="#fff" stroke="{TEXT}" stroke-width="1.5"/>'
        f'<text x="{legend_x:.0f}" y="{ly + 32:.0f}">0</text>'
        f'<text x="{legend_x + bar:.0f}" y="{ly + 32:.0f}" text-anchor="middle">'
        f"{km_text}{NNBSP}km</text></g>"
    )
    ly += 44
    # North arrow.
    nx, ny = legend_x + 18, ly + 14
    legend.append(
        f'<g fill="{TEXT}"><path d="M{nx:.0f} {ny:.0f}l-12 40 12-9 12 9z"/>'
        f'<text x="{nx:.0f}" y="{ny + 66:.0f}" font-size="21" font-weight="bold" '
        f'text-anchor="middle">N</text></g>'
    )
    ly += 84
    if note:
        for line in _wrap(note, 34):
            ly += 25
            legend.append(
                f'<text x="{legend_x:.0f}" y="{ly:.0f}" font-size="20" fill="{MUTED}">'
                f"{escape(line)}</text>"
            )

    width = legend_x + LEGEND_WIDTH + PAD
    height = max(oy + map_h + PAD, ly + PAD)
    hatch = (
        f'<pattern id="{uid}-nd" width="10" height="10" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="10" height="10" fill="{NO_DATA_FILL}"/>'
        f'<line x1="0" y1="0" x2="0" y2="10" stroke="#a6adb8" stroke-width="3"/></pattern>'
    )
    body = "".join(paths)
    if not overlays:
        overlay = ""
    elif dots:
        marks = []
        for code in overlays:
            point = _label_point(drawable[code], project)
            if point is not None:
                marks.append(f'<circle cx="{point[0]:.0f}" cy="{point[1]:.0f}" r="5"/>')
        # Hollow dots, so they differ from the filled dots of labelled communes.
        overlay = f'<g fill="#fff" stroke="{TEXT}" stroke-width="2.2">{"".join(marks)}</g>'
    else:
        overlay = (
            f'<g fill="none" stroke="{TEXT}" stroke-width="3" stroke-linejoin="round">'
            + "".join(f'<path d="{path_data[code]}"/>' for code in overlays)
            + "</g>"
        )
    empty = (
        f'<text x="{ox + map_w / 2:.0f}" y="{oy + map_h / 2:.0f}" text-anchor="middle" '
        f'font-size="26" fill="{MUTED}">Aucun contour communal disponible</text>'
        if not drawable
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" role="img" aria-labelledby="{uid}-t" font-family={quoteattr(FONT)}>'
        f'<title id="{uid}-t">{escape(title)}</title><defs>{hatch}</defs>'
        f'<g transform="translate({ox},{oy})">'
        f'<g class="communes" stroke="#ffffff" stroke-width="1.2" stroke-linejoin="round" '
        f'fill-rule="evenodd">{body}</g>{overlay}{"".join(label_marks)}</g>'
        f"{empty}{''.join(legend)}</svg>"
    )


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap for SVG text, which does not wrap by itself."""
    lines: list[str] = []
    current = ""
    for word in str(text).split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines or [""]
