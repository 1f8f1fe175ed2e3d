"""Server-side charts: inline SVG, no JavaScript, no CDN.

Every text that reaches the SVG goes through ``format_html``/``escape``, so
a label cannot inject markup. Text is drawn in ``currentColor`` to follow
the admin's light and dark themes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from .report import Bucket


@dataclass(frozen=True)
class Series:
    key: str
    label: str | Promise  # translated when shown
    color: str


TIMELINE_SERIES = (
    Series("verified", _("verified"), "#2e7d32"),
    Series("unverified", _("placed, not verified"), "#64b5f6"),
    Series("failed", _("provider errors"), "#ef6c00"),
    Series("refused", _("refused by a limit"), "#9e9e9e"),
)


def _nice_max(value: int) -> int:
    """The smallest 1/2/5 × 10ⁿ at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _n(value: float) -> str:
    """A coordinate for SVG: at most one decimal, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def stacked_bars(
    labels: Sequence[str],
    values: Sequence[Mapping[str, int]],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 760,
    height: int = 240,
) -> SafeString:
    """One stacked bar per label; ``values[i][series.key]`` is a segment's height.

    Each bar carries a ``<title>`` (the browser's tooltip) with its numbers.
    """
    left, right, top, bottom = 40, 8, 10, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    count = max(1, len(labels))
    slot = plot_w / count
    bar = max(1.0, slot * 0.8)
    peak = _nice_max(max((sum(v.get(s.key, 0) for s in series) for v in values), default=0))
    scale = plot_h / peak
    parts: list[SafeString] = []
    for fraction in (0, 0.5, 1):  # gridlines and ticks at 0, half and full scale
        y = base - plot_h * fraction
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" '
                'stroke-opacity="0.2"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" '
                'fill="currentColor">{}</text>',
                left,
                _n(y),
                width - right,
                _n(y),
                left - 4,
                _n(y + 3),
                _n(peak * fraction),
            )
        )
    label_every = -(-count // 12)  # at most ~12 labels under the axis
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot
        y = base
        segments: list[SafeString] = []
        for s in series:
            n = value.get(s.key, 0)
            if n <= 0:
                continue
            y -= n * scale
            segments.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                    _n(x + (slot - bar) / 2),
                    _n(y),
                    _n(bar),
                    _n(n * scale),
                    s.color,
                )
            )
        tooltip = "\n".join([str(label)] + [f"{s.label}: {value.get(s.key, 0)}" for s in series])
        # A transparent full-height rect makes the whole column hoverable.
        parts.append(
            format_html(
                "<g><title>{}</title>{}"
                '<rect x="{}" y="{}" width="{}" height="{}" fill="transparent"/></g>',
                tooltip,
                _join(segments),
                _n(x),
                top,
                _n(slot),
                plot_h,
            )
        )
        if i % label_every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="10" '
                    'fill="currentColor">{}</text>',
                    _n(x + slot / 2),
                    base + 14,
                    label,
                )
            )
    legend_x = left
    for s in series:
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="{}" font-size="11" fill="currentColor">{}</text>',
                legend_x,
                height - 14,
                s.color,
                legend_x + 14,
                height - 5,
                s.label,
            )
        )
        legend_x += 24 + 7 * len(str(s.label))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="flashcall-chart" role="img" '
        'viewBox="0 0 {w} {h}" width="100%" style="max-width:{w}px" '
        'aria-label="{title}"><title>{title}</title>{body}</svg>',
        w=width,
        h=height,
        title=title,
        body=_join(parts),
    )


def _join(parts: Sequence[SafeString]) -> SafeString:
    # Each part was built by format_html, so the concatenation is safe.
    return mark_safe("".join(parts))  # noqa: S308


def bucket_label(bucket: Bucket, width: str) -> str:
    """``14:00`` for an hour, a short local date for a day."""
    start = timezone.localtime(bucket.start)
    if width == "hour":
        return formats.time_format(start, "H:i")
    return formats.date_format(start, "SHORT_DATE_FORMAT")


def timeline_chart(timeline: Sequence[Bucket], width: str, *, title: str) -> SafeString:
    """The monitoring chart: per bucket, verified / other placed / failed / refused."""
    labels = [bucket_label(b, width) for b in timeline]
    values = [
        {
            "verified": b.verified,
            "unverified": b.placed - b.verified,
            "failed": b.failed,
            "refused": b.refused,
        }
        for b in timeline
    ]
    return stacked_bars(labels, values, TIMELINE_SERIES, title=title)


__all__ = ["TIMELINE_SERIES", "Series", "stacked_bars", "timeline_chart"]
