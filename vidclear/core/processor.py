"""The processor base class: stateful callables that map frames to frames."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, cast

from vidclear.core.frame import Frame
from vidclear.core.schema import Section

__all__ = ["Processor"]

C = TypeVar("C", bound=Section)


class Processor(Generic[C]):
    """Base class for processors, generic over their config section ``C``.

    A processor is a stateful callable. ``__call__(frame)`` returns the
    processed frame, or ``None`` while it holds frames back (a rolling HDR
    window filling up). ``flush()`` returns every frame still held, in order,
    at the end of the stream. ``reset()`` forgets temporal state at a scene cut
    or a seek. ``configure(**changes)`` changes settings between frames (the
    live preview's strength keys).

    Subclasses set ``name`` (the registry key and the TOML table of their
    settings) and ``Config`` (the :class:`~vidclear.core.schema.Section`
    subclass ``C``), and accept either ``config=`` or the config's fields as
    keyword arguments, so the config objects are the Python API's parameters::

        class Invert(Processor[InvertConfig]):
            name = "invert"
            Config = InvertConfig
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[Section]] = Section
    config: C

    def __init__(self, config: C | None = None, **params: Any) -> None:
        self.config = cast(C, self.Config.coerce_params(config, params))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None:  # every processor's __call__ checks what it is given first
            cls.__call__ = _takes_frames(call)  # type: ignore[method-assign,assignment]

    def __call__(self, frame: Frame) -> Frame | None:
        raise NotImplementedError

    def flush(self) -> list[Frame]:
        """Drain frames held back; the default holds none."""
        return []

    def reset(self) -> None:
        """Forget temporal state; the default has none."""

    def output_colour(self) -> dict[str, Any] | None:
        """The HDR signal this processor's frames will carry (``Frame.meta["colour"]``), or None.

        Known before the first frame, so an output that cannot hold it is
        refused when the run opens; the default makes none.
        """
        return None

    def warm_up(self) -> None:
        """Load compiled kernels before the first frame; the default has none to load.

        A live run calls it before its source's clock starts, so the first
        frames are not dropped while the kernels load. It must leave the
        processor's state as it was.
        """

    def configure(self, **changes: Any) -> C:
        """Change settings from the next frame on; returns the new config.

        The changed keys are validated like any config value
        (:class:`~vidclear.errors.ConfigError` names a bad one); temporal
        state is kept. Subclasses that hand their config to helper objects
        override :meth:`_configured` to pass the new one on.
        """
        changes = type(self.config)._new_keys(changes)
        type(self.config)._check_keys(changes)  # a bare TypeError from replace() before
        new = dataclasses.replace(self.config, **changes)
        self.config = new
        self._configured(new)
        return new

    def _configured(self, config: C) -> None:
        """Hook: ``config`` replaced the old one (see :meth:`configure`)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.config.to_dict().items())
        return f"{type(self).__name__}({fields})"


def _takes_frames(call: Callable[[Any, Frame], Frame | None]
                  ) -> Callable[[Any, Frame], Frame | None]:
    """``call`` refusing anything but a :class:`Frame` before it runs.

    An array given to a processor was an AttributeError from deep inside it,
    and the HDR bracket kept it in its buffer first, so ``flush()`` later
    returned it among the frames.
    """
    @functools.wraps(call)
    def checked(self: Any, frame: Frame) -> Frame | None:
        if not isinstance(frame, Frame):
            raise TypeError(f"{type(self).__name__} takes a vidclear.Frame, got "
                            f"{type(frame).__name__} (vidclear.Frame(rgb) wraps an RGB "
                            "array; vidclear.dehaze_image and the enhance functions take "
                            "arrays)")
        return call(self, frame)
    return checked
