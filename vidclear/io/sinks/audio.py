"""Audio re-encoded for a container that cannot carry the input's codec.

Audio is copied packet for packet wherever the output container can hold
it. WebM holds only Opus and Vorbis, Ogg only Vorbis, Opus, FLAC and
Speex: there, as FFmpeg does when no audio codec is named, the stream is
decoded and encoded with the muxer's own default audio codec
(``AVOutputFormat.audio_codec``: Opus for WebM, FLAC for Ogg in this
FFmpeg build, which has no libvorbis, MP2 for MPEG-TS). Used by
:class:`~vidclear.io.sinks.encoder.EncoderSink` and by the batch join of
segments (:func:`vidclear.batch.segments.join_segments`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import numpy as np

from vidclear.errors import OutputError
from vidclear.io.joins import FORWARD_GAP_S, Timeline
from vidclear.io.sinks.marks import keep_marks

# Audio codecs the Ogg muxer takes (FFmpeg's libavformat/oggenc.c); Ogg has
# no codec tag table, so the muxer would refuse anything else at its header.
OGG_AUDIO = frozenset({"vorbis", "opus", "flac", "speex"})


def is_ogg(container: Any) -> bool:
    """Whether ``container`` is written by one of FFmpeg's Ogg muxers (.ogg, .ogv, .oga)."""
    return bool(set(container.format.name.split(",")) & {"ogg", "ogv", "oga", "opus", "spx"})


# The encoder FFmpeg's CLI picks for a muxer's default codec (the first
# encoder that is not experimental: the native Opus encoder is).
_ENCODERS = {"opus": "libopus"}
# Encoders that will not open without a bit rate, at the one FFmpeg's CLI
# gives them (PyAV leaves it unset: WMAv2 for an .asf refused, "bitrate too low").
_BIT_RATES = {"wmav1": 128_000, "wmav2": 128_000}
# ... and the highest sample rate of encoders that list none but refuse more
# (96 kHz into .asf was "takes none of the channel layouts stereo", trial 64)
_MAX_RATES = {"wmav1": 48_000, "wmav2": 48_000}
#: The sample rates a muxer takes for what it re-encodes: FLV's MP3 has flags
#: for 44.1 kHz and its halves only (8, 16 and 32 kHz failed mid-run with
#: "Function not implemented", trial 65; 48 kHz it stores under 44.1).
FLV_RATES = (44_100, 22_050, 11_025)
_CONTAINER_RATES = {"flv": FLV_RATES}


def own_audio_codec(container: Any) -> str | None:
    """The encoder of ``container``'s default audio codec (``"libopus"`` for WebM), or None."""
    name = getattr(container, "default_audio_codec", None)
    if not name or name == "none":
        return None
    return _ENCODERS.get(name, name)


# FFmpeg's default channel order for a count of channels (av_channel_layout_default)
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1",
                    8: "7.1"}


def ordered_layout(layout: Any) -> Any:
    """``layout``, or FFmpeg's default order for its channel count where it names only
    the count (PCM in AVI, Matroska or MOV often has no order), as FFmpeg assumes."""
    if not layout.name or layout.name.endswith(" channels"):
        return _DEFAULT_LAYOUTS.get(layout.nb_channels, layout)
    return layout


# A jump forward of the input's audio timestamps past the samples counted by
# more than this is a hole, filled with silence (one AAC frame is 21 ms;
# Matroska's millisecond timestamps jitter by one).
_HOLE_S = 0.015
# ... and one landing back over the samples counted by more than this is cut
# there (Matroska's timestamps are rounded to the millisecond), so an
# overlap never builds up past it.
_OVERLAP_S = 0.002


def _samples(frame: Any, start: int, stop: int, *, silent: bool = False) -> Any:
    """Samples ``start:stop`` of an audio frame as a new frame (zeros with ``silent``;
    ``stop`` may pass the frame's end then)."""
    fmt, layout = frame.format, frame.layout
    data = frame.to_ndarray()
    channels = layout.nb_channels
    step = 1 if fmt.is_planar else channels
    if silent:
        shape = (data.shape[0], (stop - start) * step)
        data = np.full(shape, 128 if fmt.name.startswith("u8") else 0, data.dtype)
    else:
        data = np.ascontiguousarray(data[:, start * step:stop * step])
    out = av.AudioFrame.from_ndarray(data, format=fmt.name, layout=layout.name)
    out.sample_rate = frame.sample_rate
    return out


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
    max_gap : float
        Seconds: a hole up to this long is filled with silence; a longer one
        is kept as a jump of the output's timestamps (filled where ``pad``
        is true), unless ``timeline`` takes it for a discontinuity.
    timeline : Timeline, optional
        The input's discontinuities, shared with the output's other streams
        (joined recordings, a clock reset: a jump back of over 0.1 s, or
        ahead where the picture jumped too, see ``Timeline.follow``): the
        audio is re-based there by the shift the streams share, counted in
        ``rebased``, and samples landing before its last ones are cut
        (``overlap_s``); the stream is named there by its input index.
        None: a timeline of its own.
    pad : bool
        Fill every hole with silence, the start too (audio that begins after
        the picture): for outputs whose audio timeline is its sample count
        (FLAC in Ogg keeps no start offset and no jump).

    Raises
    ------
    OutputError
        No decoder for the input codec, or the encoder refuses the stream's
        sample rate or channel layout.

    Notes
    -----
    The output timeline counts samples from the first decoded frame's
    timestamp (a count does not drift), and follows the input's timestamps
    where they jump ahead of it by more than 15 ms: a hole (packets lost or
    damaged, a pause in the recording) up to ``max_gap`` seconds is filled
    with silence, and so is the time before the first sample where ``pad``
    is true. Samples before the output's start (``t0``) are cut off. The
    sample rate is the input's where the encoder takes it, else the nearest
    it takes (Opus: 44.1 kHz becomes 48 kHz, as FFmpeg does); a channel
    layout it refuses is remapped or downmixed (see ``layout_note``).
    Packets that do not decode are left out and counted (``undecodable``);
    ``holes``, ``silence_s`` and ``lead_s`` count what was filled,
    ``kept_gaps`` the long pauses kept as jumps, ``rebased`` the
    discontinuities re-based, ``overlap_s`` the overlapping sound cut.
    """

    def __init__(self, container: Any, ist: Any, codec: str, t0: float,
                 max_gap: float = FORWARD_GAP_S, *, timeline: Timeline | None = None,
                 pad: bool = False) -> None:
        ctx = ist.codec_context
        if ctx is None:  # a codec this FFmpeg does not know (Matroska's A_MS/ACM...)
            raise OutputError("its codec is unknown to this FFmpeg, so it cannot be "
                              f"re-encoded as {codec}")
        try:
            self._decoder = av.CodecContext.create(ctx.name, "r")
            if ctx.extradata:
                self._decoder.extradata = ctx.extradata
            self._decoder.sample_rate = ctx.sample_rate
            self._decoder.layout = ctx.layout
            self._decoder.open()
        except (av.FFmpegError, ValueError):
            # Codecs that need the stream's block size, which PyAV does not
            # expose (IMA ADPCM of old cameras' AVIs, WMA): the input stream's
            # own decoder has it (they could not be re-encoded at all, trial
            # 64). Nothing else decodes a copied stream.
            try:
                self._decoder = ctx
                ctx.open(strict=False)
            except (av.FFmpegError, ValueError) as exc:
                raise OutputError(f"cannot decode {ctx.name} audio to re-encode it: "
                                  f"{exc}") from None
        enc = av.Codec(codec, "w")
        rates = enc.audio_rates
        # the nearest rate the encoder takes (the higher on a tie), as FFmpeg picks
        rate = ctx.sample_rate if not rates or ctx.sample_rate in rates else min(
            rates, key=lambda r: (abs(r - ctx.sample_rate), -r))
        held = _CONTAINER_RATES.get(container.format.name)
        if held is not None and rate not in held:  # the lowest it takes at or above, else its top
            rate = min((r for r in held if r >= ctx.sample_rate), default=max(held))
        rate = min(rate, _MAX_RATES.get(codec, rate))
        layout: Any = ordered_layout(ctx.layout)
        try:
            self.stream = container.add_stream(codec, rate=rate)
            self.stream.layout = layout
            formats = [f.name for f in (enc.audio_formats or ())]
            if formats:
                self.stream.format = sample_format(formats, ctx.format.name)
            self.stream.time_base = Fraction(1, rate)
            if codec in _BIT_RATES:
                self.stream.codec_context.bit_rate = _BIT_RATES[codec]
        except (av.FFmpegError, ValueError) as exc:
            raise OutputError(f"cannot encode {ctx.name} audio ({ctx.sample_rate} Hz, "
                              f"{ctx.layout.name}) as {codec}: {exc}") from None
        self.layout_note = ""
        self.rate = rate  # the output's sample rate, Hz
        self._open_encoder(str(getattr(layout, "name", layout)), ctx.layout.nb_channels)
        keep_marks(ist, self.stream)  # a re-encoded default track stays the default
        self.codec = codec
        self._t0 = t0
        self._max_gap = max_gap
        self._timeline = timeline if timeline is not None else Timeline()
        self._key = ist.index
        self._pad = pad
        self._next: int | None = None  # the next decoded sample's pts, in 1 / input rate
        self._offset = 0  # samples added to the input's times since the last discontinuity
        self._overlapping = False  # just re-based: cutting what lands before _next
        self.overlap_s = 0.0  # audio left out where a piece after a join overlapped the last
        self.undecodable = 0
        self.silence_s = 0.0  # silence put into holes of the input's audio
        self.holes = 0
        self.lead_s = 0.0  # silence put before the first sample (pad)
        self.rebased = 0  # discontinuities re-based (joined recordings)
        self.kept_gaps = 0  # holes past max_gap kept as jumps of the timestamps

    def delay(self, seconds: float) -> None:
        """Move the sound ``seconds`` later, as its picture moved (before the first sample)."""
        self._t0 -= seconds

    def chosen_note(self, output: str, suffix: str, label: str, source_codec: str, *,
                    held: bool = False, at_rate: int | None = None) -> str:
        """The note that input stream ``label`` (``source_codec`` audio) is re-encoded
        for ``output`` (a ``suffix`` file), and in what layout. ``held``: the container
        lists the codec but carries it badly (AVI, ASF, FLV: "cannot hold" was
        untrue, trial 65); ``at_rate``: only not at this input rate, Hz (FLV's MP3
        at 8 kHz, MP4's below 16 kHz: "does not carry mp3 audio well" hid that)."""
        if held and at_rate is not None:  # (a rate FFmpeg's own muxer refuses)
            why = f"does not carry {source_codec} audio at {at_rate} Hz"
            how = f"{self.codec} at {self.rate} Hz"
        else:
            why = (f"does not carry {source_codec} audio well" if held
                   else f"cannot hold {source_codec} audio")
            how = f"{self.codec}, as FFmpeg does"
        return (f"{output}: the {suffix or 'output'} container {why}: stream {label} "
                f"re-encoded as {how}" + (f"; {self.layout_note}" if self.layout_note else ""))

    def end_notes(self, output: str) -> list[str]:
        """Notes for ``output`` on what was left out, filled and kept, once flushed."""
        notes = []
        if self.undecodable:
            notes.append(f"{output}: {self.undecodable} audio packet(s) could not be decoded "
                         "and were left out")
        if self.holes:
            notes.append(f"{output}: {self.holes} hole(s) in the input's audio "
                         f"({self.silence_s:.3f} s in all) filled with silence in the "
                         "re-encoded audio, to keep it in sync")
        if self.lead_s > 0.05:  # (not the picture's own move onto Ogg's ticks)
            notes.append(f"{output}: the audio starts {self.lead_s:.3f} s after the picture: "
                         "silence put before it (Ogg keeps no start offset for its audio)")
        if self.kept_gaps:
            notes.append(f"{output}: {self.kept_gaps} pause(s) of over {self._max_gap:g} s in "
                         "the input's audio kept as jumps of its timestamps")
        if self.rebased:
            notes.append(f"{output}: {self.rebased} discontinuit"
                         f"{'y' if self.rebased == 1 else 'ies'} of the input's audio "
                         "(joined recordings) re-based with the picture")
        if self.overlap_s:
            # (a file never joined has them too: Matroska's millisecond
            # timestamps, trial 108 F7)
            notes.append(f"{output}: {self.overlap_s:.3f} s of the input's audio cut where its "
                         "timestamps overlap the sound before it (a joined piece's padding, "
                         "or timestamps rounded to the millisecond)")
        return notes

    def _open_encoder(self, layout: str, channels: int) -> None:
        """Open the encoder: the stream's channel layout, else the default one for its
        count (libopus takes 5.1, not 5.1(side)), else a stereo downmix (MP2), noted."""
        tried = []
        for cand in dict.fromkeys([layout, _DEFAULT_LAYOUTS.get(channels, layout), "stereo"]):
            if cand == "stereo" and channels < 2:
                continue
            tried.append(cand)
            try:
                self.stream.layout = cand
                self.stream.codec_context.open()
            except (av.FFmpegError, ValueError):
                continue
            if cand != layout:
                how = "downmixed to" if cand == "stereo" else "remapped to"
                self.layout_note = (f"{layout} {how} {cand} (the "
                                    f"{self.stream.codec_context.name} encoder takes no {layout})")
            return
        raise OutputError(f"the {self.stream.codec_context.name} encoder takes none of the "
                          f"channel layouts {', '.join(tried)}")

    def packets(self, packet: Any | None) -> Iterator[Any]:
        """The encoded packets that ``packet`` (None: the end, flush) completes.

        A generator: a long hole's silence is encoded and handed on a second
        at a time, never held whole.
        """
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError:
            self.undecodable += 1
            frames = []
        for frame in frames:
            yield from self._place(frame)
        if packet is None:
            yield from self._encode(None)

    def _place(self, frame: Any) -> Iterator[Any]:
        """Encode one decoded frame at its place on the output's timeline."""
        rate = frame.sample_rate or self._decoder.sample_rate
        if frame.time is None:
            at = None
        else:
            at = round((float(frame.time) - self._t0) * rate)
            shift = None
            if self._next is not None:
                # joined recordings or a clock reset: re-based as the picture
                # is (ahead: only where the picture jumped too; else a pause)
                shift = self._timeline.follow(
                    self._key, (at + self._offset - self._next) / rate, float(frame.time),
                    (self._next - at) / rate - self._t0)
            if shift is not None:
                self._offset = round((shift + self._t0) * rate)
                self.rebased += 1
                self._overlapping = True
            at += self._offset
            if (self._next is None or self._overlapping
                    or at < self._next - _OVERLAP_S * rate):
                # before the output's start (-ss, or audio leading the first
                # frame), or a piece after a join overlapping the last one's
                # end (its AAC padding; trip mode's next file): cut to the
                # sample, as FFmpeg trims (counted on, each file's overlap
                # put the sound 20 ms later, trial 51; cut only past 15 ms,
                # the 9-14 ms overlaps of 0.5 s pieces built up to 15, trial 52)
                begin = 0 if self._next is None else self._next
                if at + frame.samples <= begin:
                    if self._next is not None:
                        self.overlap_s += frame.samples / rate
                    return
                self._overlapping = False
                if at < begin:
                    if self._next is not None:
                        self.overlap_s += (begin - at) / rate
                    frame = _samples(frame, begin - at, frame.samples)
                    at = begin
        first = self._next is None
        if self._next is None:
            self._next = 0 if self._pad else (at or 0)
        gap = 0 if at is None else at - self._next
        if gap > _HOLE_S * rate:
            if gap <= self._max_gap * rate or self._pad:
                # a hole in the input's audio (packets lost or damaged, a gap
                # in the recording) or audio that starts after the picture:
                # silence, so what follows stays in sync with the picture
                # (counted samples alone closed it up)
                for start in range(0, gap, rate):  # a second at a time
                    hole = _samples(frame, 0, min(rate, gap - start), silent=True)
                    hole.pts, hole.time_base = self._next, Fraction(1, rate)
                    yield from self._encode(hole)
                    self._next += hole.samples
                if first:
                    self.lead_s += gap / rate
                else:
                    self.silence_s += gap / rate
                    self.holes += 1
            else:
                # a long pause: the timestamps jump, as the input's do
                self._next += gap
                self.kept_gaps += 1
        frame.pts, frame.time_base = self._next, Fraction(1, rate)
        self._next += frame.samples
        yield from self._encode(frame)

    def _encode(self, frame: Any | None) -> list[Any]:
        try:
            return list(self.stream.encode(frame))
        except (av.FFmpegError, ValueError) as exc:
            raise OutputError(f"encoding audio as {self.codec} failed: {exc}") from None
