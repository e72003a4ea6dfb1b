"""The processor protocol: stateful callables that map frames to frames."""

from __future__ import annotations

from typing import Any, ClassVar

from vidclear.config.schema import Section
from vidclear.pipeline.frame import Frame

__all__ = ["Processor"]


class Processor:
    """Base class for processors.

    A processor is a stateful callable. ``__call__(frame)`` returns the
    processed frame, or ``None`` while it holds frames back (a rolling HDR
    window filling up). ``flush()`` returns every frame still held, in order,
    at the end of the stream. ``reset()`` forgets temporal state at a scene cut
    or a seek.

    Subclasses set ``name`` (the registry key and the TOML table of their
    settings) and ``Config`` (a :class:`~vidclear.config.schema.Section`), and
    accept either ``config=`` or the config's fields as keyword arguments, so
    the config objects are the Python API's parameters.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[Section]] = Section

    def __init__(self, config: Section | None = None, **params: Any) -> None:
        self.config = self.Config.coerce_params(config, params)

    def __call__(self, frame: Frame) -> Frame | None:
        raise NotImplementedError

    def flush(self) -> list[Frame]:
        """Drain frames held back; the default holds none."""
        return []

    def reset(self) -> None:
        """Forget temporal state; the default has none."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.config.to_dict().items())
        return f"{type(self).__name__}({fields})"
