"""Charts for the generated work summaries (工作总结), drawn server-side with matplotlib's Agg backend as PNG bytes.

A Chinese font is used when the machine has one (Noto Sans CJK SC, WenQuanYi, Droid Sans Fallback, SimHei…);
without one the charts carry only ASCII texts (years, months, numbers and short English legend keys), and the
Chinese captions go into the document beside them, so a chart never shows empty boxes (tofu).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402 - the backend must be chosen before pyplot loads
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CJK_FONT_NAMES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
DPI = 120
SIZE_INCHES = (6.4, 3.2)


@cache
def cjk_font() -> str | None:
    """The first installed font that covers Chinese, or None."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONT_NAMES if name in installed), None)


@dataclass(frozen=True)
class Text:
    """A chart text in Chinese and its ASCII stand-in for machines without a Chinese font."""

    zh: str
    ascii: str

    def shown(self, font: str | None) -> str:
        return self.zh if font else self.ascii


@dataclass(frozen=True)
class Series:
    name: Text
    values: Sequence[float]


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def bar_chart(
    *, categories: Sequence[str], series: Sequence[Series], y_label: Text, font: str | None | bool = True
) -> bytes:
    """Grouped bars, one group per category (categories are ASCII: years, months, quarters)."""
    chosen = cjk_font() if font is True else (font or None)
    with plt.rc_context({"font.family": [chosen, "DejaVu Sans"] if chosen else ["DejaVu Sans"]}):
        fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
        ax = fig.add_subplot()
        count = max(len(series), 1)
        width = 0.8 / count
        positions = list(range(len(categories)))
        for index, one in enumerate(series):
            offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
            ax.bar(offsets, list(one.values), width=width, label=one.name.shown(chosen))
        ax.set_xticks(positions, list(categories), rotation=45 if len(categories) > 8 else 0)
        ax.set_ylabel(y_label.shown(chosen))
        ax.grid(axis="y", alpha=0.3)
        if len(series) > 1:
            ax.legend()
        return _png(fig)


def line_chart(
    *, categories: Sequence[str], series: Sequence[Series], y_label: Text, font: str | None | bool = True
) -> bytes:
    """One line per series over the categories (years)."""
    chosen = cjk_font() if font is True else (font or None)
    with plt.rc_context({"font.family": [chosen, "DejaVu Sans"] if chosen else ["DejaVu Sans"]}):
        fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
        ax = fig.add_subplot()
        positions = list(range(len(categories)))
        for one in series:
            ax.plot(positions, list(one.values), marker="o", label=one.name.shown(chosen))
        ax.set_xticks(positions, list(categories))
        ax.set_ylabel(y_label.shown(chosen))
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend()
        return _png(fig)
