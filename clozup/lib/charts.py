"""Bar charts drawn as SVG on the server: geometry here, markup in templates.

The strict Content-Security-Policy rules out chart libraries that inject
styles or run inline code; a template draws these rectangles and labels.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float
    label_x: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    maximum: Decimal


def bar_chart(
    points: list[tuple[str, Decimal]], *, width: int = 640, height: int = 220
) -> BarChart:
    """Evenly spaced bars scaled to the largest value, with room for labels."""
    top, bottom = 16, 28
    maximum = max((value for _, value in points), default=Decimal(0))
    usable = height - top - bottom
    slot = width / max(len(points), 1)
    bar_width = slot * 0.7
    bars = []
    for index, (label, value) in enumerate(points):
        scaled = float(value / maximum) * usable if maximum else 0.0
        x = index * slot + (slot - bar_width) / 2
        bars.append(
            Bar(
                label=label,
                value=value,
                x=round(x, 1),
                y=round(top + usable - scaled, 1),
                width=round(bar_width, 1),
                height=round(scaled, 1),
                label_x=round(x + bar_width / 2, 1),
            )
        )
    return BarChart(
        width=width, height=height, baseline=top + usable, bars=bars, maximum=maximum
    )
