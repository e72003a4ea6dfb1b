"""Text subtitles converted to the text format an output container holds.

A dashcam writes its GPS and speed captions as SubRip in Matroska or as
timed text (``mov_text``, 3GPP TS 26.245) in MP4; neither container holds
the other's. FFmpeg's command line converts text subtitles between them
(decoded to ASS dialogue, encoded again); vidclear does the same for the
streams it would otherwise refuse: timed text in MP4 and MOV, the muxer's
own text codec elsewhere (ASS in Matroska, WebVTT in WebM), ASS in a muxer
that names none but holds it (NUT). Cue times and
durations are the input packets'; styling beyond what both formats carry
is FFmpeg's to keep or drop.
"""

from __future__ import annotations

from typing import Any

import av

__all__ = ["TEXT_SUBTITLES", "SubtitleConvert", "text_target"]

#: Text subtitle codecs (FFmpeg's names) that convert into one another.
TEXT_SUBTITLES = frozenset({"subrip", "srt", "mov_text", "ass", "ssa", "webvtt", "text"})
_MP4_FAMILY = {"mp4", "mov", "3gp", "3g2", "ipod", "ismv", "psp", "f4v"}
# what a muxer that names no text subtitle codec of its own is given, in order
_ANY_TEXT = ("ass", "subrip", "webvtt")


def text_target(container: Any, ist: Any) -> str | None:
    """The text subtitle encoder ``container`` takes in place of text stream ``ist``, or None.

    The muxer's own default where it names one (ASS in Matroska, WebVTT in
    WebM), timed text in the MP4 family, else the first of ASS, SubRip and
    WebVTT the muxer holds (NUT names no default but holds ASS: SubRip
    into ``-f nut`` was refused, trial 101 F7). None where ``ist`` is no
    text subtitle or the container holds no text subtitle format this
    FFmpeg can encode (MPEG-TS, AVI, FLV).
    """
    ctx = ist.codec_context
    if ist.type != "subtitle" or ctx is None or ctx.name not in TEXT_SUBTITLES:
        return None
    formats = set(container.format.name.split(","))
    default = getattr(container, "default_subtitle_codec", None)
    held = container.supported_codecs
    candidates = ["mov_text"] if formats & _MP4_FAMILY else \
        [default] if default in TEXT_SUBTITLES else _ANY_TEXT
    for target in candidates:
        if target not in held:
            continue
        try:
            av.codec.Codec(target, "w")
        except (av.FFmpegError, ValueError):  # no such encoder in this build
            continue
        return str(target)
    return None


class SubtitleConvert:
    """Re-encode the packets of text subtitle stream ``ist`` as ``codec`` into ``container``.

    Parameters
    ----------
    container : av.container.OutputContainer
        The output, before its header is written; the new stream is added to it.
    ist : av.stream.Stream
        The input's text subtitle stream (see :data:`TEXT_SUBTITLES`).
    codec : str
        A text subtitle encoder the container holds (:func:`text_target`).

    Raises
    ------
    av.FFmpegError
        The decoder or the encoder cannot be opened.
    """

    def __init__(self, container: Any, ist: Any, codec: str) -> None:
        ctx = ist.codec_context
        self._decoder = av.CodecContext.create(ctx.name, "r")
        if ctx.extradata:
            self._decoder.extradata = ctx.extradata
        self._decoder.open()
        self.stream = container.add_stream(codec)
        self.stream.time_base = ist.time_base
        enc = self.stream.codec_context
        enc.time_base = ist.time_base
        # the cues' ASS styles, as FFmpeg hands the decoder's header to the encoder
        enc.subtitle_header = self._decoder.subtitle_header
        enc.open()
        self.codec = codec
        self.source_codec = getattr(ctx.codec, "canonical_name", None) or ctx.name
        self.converted = 0
        self.empty = 0  # timed text's empty samples between cues, which SubRip has none of
        # Timed text holds one cue at a time: the MP4 muxer laid overlapping cues
        # end to end, each later one delayed (trial 84 F1). A cue is held until
        # the next comes and ends where that one starts, as FFmpeg writes them.
        self._one_at_a_time = codec == "mov_text"
        self._held: Any | None = None

    def note(self, output: str, suffix: str, label: str) -> str:
        """The note that input stream ``label`` was converted for ``output`` (a ``suffix`` file)."""
        return (f"{output}: the {suffix} container cannot hold {self.source_codec} subtitles: "
                f"stream {label} converted to {self.codec}, as FFmpeg does")

    def convert(self, packet: Any) -> Any | None:
        """The packet re-encoded, with ``packet``'s times; None for an empty cue.

        For timed text the cue returned is the one before, ended no later than
        ``packet``'s start (:meth:`flush` returns the last).

        Raises
        ------
        av.FFmpegError
            The packet does not decode or encode (damaged).
        """
        cues = self._decoder.decode2(packet)
        if cues is None or len(cues) == 0:
            self.empty += 1
            return None
        out = self.stream.codec_context.encode_subtitle(cues)
        out.time_base = packet.time_base
        out.pts, out.dts, out.duration = packet.pts, packet.dts, packet.duration
        self.converted += 1
        if not self._one_at_a_time:
            return out
        held, self._held = self._held, out
        if held is not None and held.pts is not None and out.pts is not None and \
                held.time_base == out.time_base and held.duration and \
                held.pts + held.duration > out.pts:
            held.duration = max(1, out.pts - held.pts)
        return held

    def flush(self) -> Any | None:
        """The cue still held (timed text), or None."""
        held, self._held = self._held, None
        return held
