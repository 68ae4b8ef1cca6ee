"""Per-file progress bars on a terminal; plain one-line updates when the output is a file or a pipe."""

from __future__ import annotations

from typing import TextIO

_WIDTH = 24


class ProgressBoard:
    """One line per file, redrawn in place on a terminal."""

    def __init__(self, names: list[str], stream: TextIO) -> None:
        self.names = names
        self.stream = stream
        self.lines = ["waiting"] * len(names)
        self.statuses = [""] * len(names)
        self.tty = stream.isatty()
        self._drawn = False
        self._label = max((len(name) for name in names), default=0)

    def update(self, index: int, status: str, progress: float, detail: str = "") -> None:
        """Redraw a file's bar; off a terminal, one line when its status changes (`detail` is not news)."""
        filled = round(max(0.0, min(progress, 1.0)) * _WIDTH)
        line = f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {progress * 100:5.1f}%  {status}"
        line += f", {detail}" if detail else ""
        if line == self.lines[index]:
            return
        self.lines[index] = line
        if self.tty:
            self._redraw()
        elif status != self.statuses[index]:
            self.stream.write(f"{self.names[index]}: {status}{', ' + detail if detail else ''}\n")
            self.stream.flush()
        self.statuses[index] = status

    def note(self, index: int, message: str) -> None:
        """A final word for one file (where its result went, or why it failed)."""
        self.lines[index] = message
        if self.tty:
            self._redraw()
        else:
            self.stream.write(f"{self.names[index]}: {message}\n")
            self.stream.flush()

    def _redraw(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{len(self.lines)}F")
        for name, line in zip(self.names, self.lines, strict=True):
            self.stream.write(f"\x1b[2K{name.ljust(self._label)}  {line}\n")
        self.stream.flush()
        self._drawn = True
