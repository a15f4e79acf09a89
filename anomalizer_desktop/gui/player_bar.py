"""Transport bar: play/stop, loop, auto-play, preview volume, position, and the device status.

It polls the player (~10 times a second) for the position label and the play button state; the
audio thread never calls into Qt. With no output device the bar says so in one line and the rest
of the app keeps working (the null player's virtual playhead still moves).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from .audition import AuditionController
from .elided_label import ElidedLabel
from .models.loop_row import format_duration

POLL_MS = 100
STATUS_MIN_WIDTH = 60  # px: a long device message shows short ("⚠ silent"), then elides
TRACK_MIN_WIDTH = 80  # the track's name elides in the middle (the full path is the tooltip)
VOLUME_WIDTH = (60, 110)  # min, max
POSITION_SAMPLE = "00:00.0 / 00:00.0"  # the position label is this wide, so it never jitters


class PlayerBar(QWidget):
    """Transport controls bound to an :class:`AuditionController`."""

    def __init__(self, audition: AuditionController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.audition = audition
        player = audition.player

        self.play_button = QToolButton()
        self.play_button.setToolTip("Play / stop (Space)")
        self.play_button.setMinimumWidth(72)
        self.play_button.clicked.connect(self._on_play_clicked)
        self.loop_button = QToolButton()
        self.loop_button.setText("Loop")
        self.loop_button.setCheckable(True)
        self.loop_button.setChecked(bool(player.loop))
        self.loop_button.setToolTip("Loop playback (L)")
        self.loop_button.toggled.connect(self._on_loop_toggled)
        self.autoplay_button = QToolButton()
        self.autoplay_button.setText("Auto-play")
        self.autoplay_button.setCheckable(True)
        self.autoplay_button.setChecked(True)
        self.autoplay_button.setToolTip("Play a loop as soon as it is selected")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(int(round(player.volume * 100)))
        self.volume.setMinimumWidth(VOLUME_WIDTH[0])
        self.volume.setMaximumWidth(VOLUME_WIDTH[1])
        self.volume.setToolTip("Preview volume")
        self.volume.valueChanged.connect(self._on_volume)
        self.track_label = ElidedLabel("", min_width=TRACK_MIN_WIDTH,
                                        mode=Qt.TextElideMode.ElideMiddle)
        self.position_label = QLabel("")
        self.position_label.setMinimumWidth(
            self.position_label.fontMetrics().horizontalAdvance(POSITION_SAMPLE) + 4)
        self.status_label = ElidedLabel("", min_width=STATUS_MIN_WIDTH)
        self.status_label.setObjectName("playerStatus")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(4)
        for w in (self.play_button, self.loop_button, self.autoplay_button):
            layout.addWidget(w)
        layout.addWidget(QLabel("Vol"))
        layout.addWidget(self.volume)
        layout.addWidget(self.position_label)
        # The track's name comes first; the device status takes what is left (short when tight).
        layout.addWidget(self.track_label)
        layout.addWidget(self.status_label, 1)

        if not getattr(player, "available", False):
            self.status_label.set_text(f"⚠ silent: {player.status_message}", "⚠ silent")
            self.status_label.setToolTip(f"{player.status_message}\n\nNo sound is played. "
                                         "Everything else works, and the playhead still moves "
                                         "so you can follow the waveform.")
        else:
            self.status_label.set_text("")
            self.setToolTip(player.status_message)

        audition.loaded.connect(self._on_loaded)
        audition.playError.connect(self.show_error)
        audition.loadFailed.connect(self._on_load_failed)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    @property
    def autoplay(self) -> bool:
        return self.autoplay_button.isChecked()

    def set_loop(self, on: bool) -> None:
        self.loop_button.setChecked(on)  # toggled -> player

    def toggle_loop(self) -> None:
        self.loop_button.toggle()

    def set_volume_percent(self, value: int) -> None:
        self.volume.setValue(value)

    @Slot()
    def refresh(self) -> None:
        player = self.audition.player
        playing = bool(player.is_playing)
        self.play_button.setText("■ Stop" if playing else "▶ Play")
        self.play_button.setEnabled(self.audition.current_path is not None)
        if self.audition.current_path is not None:
            self.position_label.setText(
                f"{format_duration(player.position_s)} / {format_duration(player.duration_s)}")
        else:
            self.position_label.setText("")

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.status_label.set_text(f"⚠ {message}", "⚠ cannot play")
        self.status_label.setToolTip(message)

    @Slot()
    def _on_play_clicked(self) -> None:
        self.audition.toggle()
        self.refresh()

    @Slot(bool)
    def _on_loop_toggled(self, on: bool) -> None:
        self.audition.set_loop(on)

    @Slot(int)
    def _on_volume(self, value: int) -> None:
        self.audition.set_volume(value / 100.0)

    @Slot(str, object, int)
    def _on_loaded(self, path: str, _samples, _rate: int) -> None:
        from pathlib import Path

        self.track_label.set_text(Path(path).name)
        self.track_label.setToolTip(path)
        self.refresh()

    @Slot(str, str)
    def _on_load_failed(self, path: str, message: str) -> None:
        self.track_label.set_text("")
        self.show_error(message)

    def sync_from_player(self) -> None:
        """Re-read loop and volume from the player (e.g. after restoring settings)."""
        player = self.audition.player
        with QSignalBlocker(self.loop_button):
            self.loop_button.setChecked(bool(player.loop))
        with QSignalBlocker(self.volume):
            self.volume.setValue(int(round(player.volume * 100)))
