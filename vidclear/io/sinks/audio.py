"""Audio re-encoded for a container that cannot carry the input's codec.

Audio is copied packet for packet wherever the output container can hold
it. WebM holds only Opus and Vorbis, Ogg only Vorbis, Opus, FLAC and
Speex: there, as FFmpeg does when no audio codec is named, the stream is
decoded and encoded with the muxer's own default audio codec
(``AVOutputFormat.audio_codec``: Opus for WebM, FLAC for Ogg in this
FFmpeg build, which has no libvorbis).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av

from vidclear.errors import OutputError

# Audio codecs the Ogg muxer takes (FFmpeg's libavformat/oggenc.c); Ogg has
# no codec tag table, so the muxer would refuse anything else at its header.
OGG_AUDIO = frozenset({"vorbis", "opus", "flac", "speex"})
# The encoder FFmpeg's CLI picks for a muxer's default codec (the first
# encoder that is not experimental: the native Opus encoder is).
_ENCODERS = {"opus": "libopus"}


def own_audio_codec(container: Any) -> str | None:
    """The encoder of ``container``'s default audio codec (``"libopus"`` for WebM), or None."""
    name = getattr(container, "default_audio_codec", None)
    if not name or name == "none":
        return None
    return _ENCODERS.get(name, name)


def sample_format(formats: list[str], source: str) -> str:
    """The encoder's sample format for audio decoded as ``source``, losing the least.

    The source's own format (packed or planar), else float, else the
    widest integer format the encoder takes (FLAC: 32 bits for AAC and
    24-bit PCM, as FFmpeg chooses).
    """
    base = source.rstrip("p")
    for name in (source, base, base + "p", "flt", "fltp", "s32", "s32p"):
        if name in formats:
            return name
    return formats[0]


class AudioTranscode:
    """Decode one copied audio stream's packets and encode them for the output.

    Parameters
    ----------
    container : av.container.OutputContainer
        The output, before its header is written.
    ist : av.AudioStream
        The input audio stream (its parameters are read here; the input may
        be closed before the packets arrive).
    codec : str
        The encoder, e.g. ``"libopus"``.
    t0 : float
        Seconds of input time that become 0 in the output (the video's own
        shift), so audio and video keep their offset.

    Raises
    ------
    OutputError
        No decoder for the input codec, or the encoder refuses the stream's
        sample rate or channel layout.

    Notes
    -----
    The output timeline counts samples from the first decoded frame's
    timestamp: audio has no gaps to keep, and a sample count does not
    drift. Opus runs at 48 kHz (the rate libopus codes at; 44.1 kHz input
    is resampled to it, as FFmpeg does); other encoders keep the input's
    rate. Packets that do not decode are left out and counted.
    """

    def __init__(self, container: Any, ist: Any, codec: str, t0: float) -> None:
        ctx = ist.codec_context
        try:
            self._decoder = av.CodecContext.create(ctx.name, "r")
            if ctx.extradata:
                self._decoder.extradata = ctx.extradata
            self._decoder.sample_rate = ctx.sample_rate
            self._decoder.layout = ctx.layout
            self._decoder.open()
        except (av.FFmpegError, ValueError) as exc:
            raise OutputError(f"cannot decode {ctx.name} audio to re-encode it: {exc}") from None
        enc = av.Codec(codec, "w")
        rates = enc.audio_rates
        rate = ctx.sample_rate if not rates or ctx.sample_rate in rates else max(rates)
        try:
            self.stream = container.add_stream(codec, rate=rate)
            self.stream.layout = ctx.layout
            formats = [f.name for f in (enc.audio_formats or ())]
            if formats:
                self.stream.format = sample_format(formats, ctx.format.name)
            self.stream.time_base = Fraction(1, rate)
        except (av.FFmpegError, ValueError) as exc:
            raise OutputError(f"cannot encode {ctx.name} audio ({ctx.sample_rate} Hz, "
                              f"{ctx.layout.name}) as {codec}: {exc}") from None
        self.stream.metadata.update(ist.metadata)
        self.codec = codec
        self._t0 = t0
        self._next: int | None = None  # the next decoded sample's pts, in 1 / input rate
        self.undecodable = 0

    def packets(self, packet: Any | None) -> list[Any]:
        """The encoded packets that ``packet`` (None: the end, flush) completes."""
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError:
            self.undecodable += 1
            frames = []
        out: list[Any] = []
        for frame in frames:
            rate = frame.sample_rate or self._decoder.sample_rate
            if self._next is None:
                start = float(frame.time) - self._t0 if frame.time is not None else 0.0
                self._next = max(0, round(start * rate))
            frame.pts, frame.time_base = self._next, Fraction(1, rate)
            self._next += frame.samples
            out.extend(self._encode(frame))
        if packet is None:
            out.extend(self._encode(None))
        return out

    def _encode(self, frame: Any | None) -> list[Any]:
        try:
            return list(self.stream.encode(frame))
        except (av.FFmpegError, ValueError) as exc:
            raise OutputError(f"encoding audio as {self.codec} failed: {exc}") from None
