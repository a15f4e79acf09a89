"""The two colour schemes of the app, dark and light, by what each colour means.

Plain data (no Qt): :mod:`.theme` turns a :class:`Palette` into a QPalette, a stylesheet and the
pyqtgraph defaults, and every view asks the current palette for its colours instead of naming
them. The playhead (and the map's ring around the selected loop) is the neutral "you are here"
colour, white on dark and near-black on light, so no finding's colour can be mistaken for it.
Finding kinds keep their hue in both schemes (none is the waveform's blue either); the light
scheme uses darker shades that read on white.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Rgba = tuple[int, int, int, int]


@dataclass(frozen=True)
class Palette:
    name: str  # "dark" | "light"
    # widgets (QPalette roles and the stylesheet)
    window: str
    base: str
    alt_base: str
    text: str
    dim_text: str
    disabled_text: str
    button: str
    highlight: str
    highlighted_text: str
    tooltip: str
    tooltip_border: str
    mid: str
    dark: str
    light: str
    shadow: str
    gridline: str
    header_border: str
    checked: str
    # what colours mean, everywhere
    accent: str  # links, the waveform, the histogram's bars
    warn: str  # a device or search problem in words
    flag: str  # a flagged loop: the table's flag, the map's rings, the flag line
    flag_hover: str
    flag_row: Rgba  # the table row of a flagged loop
    fine: str  # a loop marked as fine
    muted: str  # a file that could not be analysed, unscored points
    # plots
    plot_bg: str
    plot_fg: str  # axes, ticks, labels
    plot_message: str
    playhead: str  # the neutral "you are here": playhead and selected ring
    curve: str  # the "where is it unusual" strip
    curve_fill: Rgba
    neighbour: str  # "more like this" squares on the map
    hover_text: str
    hover_fill: Rgba
    score_stops: tuple[tuple[float, str], ...]  # map colours, cool (typical) to warm (rare)
    second_curve: str  # the training dialog's validation loss
    kinds: dict[str, str] = field(default_factory=dict)  # finding kind -> colour


DARK = Palette(
    name="dark",
    window="#1f2226", base="#16181b", alt_base="#1c1f23", text="#e3e6ea", dim_text="#8b949e",
    disabled_text="#5f6670", button="#2a2e34", highlight="#2f6fb3", highlighted_text="#ffffff",
    tooltip="#2b3036", tooltip_border="#3d434b", mid="#3a3f46", dark="#121417", light="#3a3f46",
    shadow="#0b0c0e", gridline="#2a2e34", header_border="#1b1e22", checked="#35506e",
    accent="#4fc3f7", warn="#ffb74d", flag="#ff6b5a", flag_hover="#ff8a80",
    flag_row=(255, 107, 90, 40), fine="#7fd18b", muted="#7d8590",
    plot_bg="#121417", plot_fg="#8b949e", plot_message="#9aa4ad", playhead="#f5f7fa",
    curve="#ff8a65", curve_fill=(255, 138, 101, 60), neighbour="#e040fb", hover_text="#e6e6e6",
    hover_fill=(20, 22, 26, 220),
    score_stops=((0.0, "#3f6fd8"), (0.3, "#3fb6c9"), (0.6, "#c9d45c"), (0.8, "#ff9f43"),
                 (1.0, "#ff3b3b")),
    second_curve="#ffb74d",
    kinds={
        "clipping": "#ff5252", "dc_offset": "#ea80fc", "silence_head": "#8aa9c4",
        "silence_tail": "#8aa9c4", "click": "#ffab40", "dropout": "#8c9eff",
        "noise_burst": "#ff80ab", "hum": "#69f0ae", "loop_seam": "#ffd740",
        "off_grid": "#eeff41", "stereo_phase": "#18ffff",
    },
)

LIGHT = Palette(
    name="light",
    window="#eef0f3", base="#ffffff", alt_base="#f5f6f8", text="#1f2328", dim_text="#57606a",
    disabled_text="#9aa1a9", button="#e2e5e9", highlight="#2f6fb3", highlighted_text="#ffffff",
    tooltip="#ffffff", tooltip_border="#c4c9d0", mid="#c4c9d0", dark="#9aa1a9", light="#ffffff",
    shadow="#6e7781", gridline="#e1e4e8", header_border="#cfd4da", checked="#c5d9f0",
    accent="#0a6fb5", warn="#a95400", flag="#cf2f22", flag_hover="#a31c12",
    flag_row=(207, 47, 34, 30), fine="#1e7b34", muted="#6e7781",
    plot_bg="#ffffff", plot_fg="#57606a", plot_message="#57606a", playhead="#1f2328",
    curve="#d84315", curve_fill=(216, 67, 21, 45), neighbour="#9c27b0", hover_text="#1f2328",
    hover_fill=(255, 255, 255, 235),
    score_stops=((0.0, "#3461c1"), (0.3, "#1f9bb0"), (0.6, "#a3ab1a"), (0.8, "#f08a24"),
                 (1.0, "#e53935")),
    second_curve="#c66a00",
    kinds={
        "clipping": "#d32f2f", "dc_offset": "#8e24aa", "silence_head": "#5f7886",
        "silence_tail": "#5f7886", "click": "#e65100", "dropout": "#5e35b1",
        "noise_burst": "#c2185b", "hum": "#2e9d3a", "loop_seam": "#946b00",
        "off_grid": "#6f7c00", "stereo_phase": "#00a08a",
    },
)

PALETTES = {p.name: p for p in (DARK, LIGHT)}
THEME_CHOICES = ("system", "light", "dark")  # the View ▸ Theme setting
DEFAULT_CHOICE = "system"


def chosen_palette(choice: str, system_is_light: bool | None) -> Palette:
    """The palette for the user's ``choice`` ("system" | "light" | "dark"; anything else counts
    as "system"). ``system_is_light``: the desktop's scheme, None when it is not known (dark)."""
    if choice in ("light", "dark"):
        return PALETTES[choice]
    return LIGHT if system_is_light else DARK


def rgba_css(colour: Rgba) -> str:
    r, g, b, a = colour
    return f"rgba({r}, {g}, {b}, {a})"
