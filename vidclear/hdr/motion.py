"""Optical-flow motion compensation of a rolling exposure window.

The flow mode of :class:`~vidclear.hdr.rolling.RollingBracket` warps every
older frame of its window onto the newest before merging, as in Kang et al.
(2003). :class:`WindowFlow` holds what that needs between frames:

- for each frame, the image DIS optical flow works on: the green channel of
  the reduced frame, halved once more (DIS's ultrafast preset then stops one
  pyramid level later, so the flow has the same resolution for half the
  work);
- for each frame, its flow to the frame before it. DIS runs once per new
  frame; the flow from the newest frame to one further back is composed
  from the kept flows, ``F(n→k)(p) = F(n→k+1)(p) + F(k+1→k)(p + F(n→k+1)(p))``.
  Consecutive frames move less and differ less in exposure than the ends of
  the window.

Before DIS, both frames of a pair are brought to the longer one's exposure
through the camera response (the shorter one brightened, clipping where the
longer clips). The older frames are warped by OpenCV's bilinear remap on
four-byte pixels, several times faster than on RGB.

References
----------
.. [1] S. B. Kang, M. Uyttendaele, S. Winder and R. Szeliski, "High dynamic
   range video", SIGGRAPH 2003.
.. [2] T. Kroeger, R. Timofte, D. Dai and L. Van Gool, "Fast optical flow
   using dense inverse search", ECCV 2016 (DIS).
"""

from __future__ import annotations

import cv2
import numpy as np

from vidclear.hdr import _video_kernels as VK

__all__ = ["WindowFlow"]

#: The flow image is halved once more only when its small side stays this large.
FLOW_MIN_HALVE = 64
#: ``cv2.WARP_RELATIVE_MAP`` (OpenCV >= 4.10): remap by offsets, no position grid; 0 if absent
RELATIVE_MAP = int(getattr(cv2, "WARP_RELATIVE_MAP", 0))


def flow_image(small: np.ndarray) -> np.ndarray:
    """The green channel DIS works on: an H×W×3 uint8 frame halved (area), H/2×W/2 uint8.

    Frames whose small side is below :data:`FLOW_MIN_HALVE` are not halved.
    """
    sh, sw = small.shape[:2]
    if min(sh, sw) < FLOW_MIN_HALVE:
        return np.ascontiguousarray(small[..., 1])
    half = cv2.resize(small, (sw // 2, sh // 2), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(half[..., 1])


class WindowFlow:
    """Flow from the newest frame of a rolling window to the older ones, and the warps.

    Parameters
    ----------
    window : int
        Frames in the window; frames are kept in slots ``0..window-1``.
    response : ndarray
        256×3 camera response (linear exposure of each 8-bit value), used to
        match the exposures of a pair before DIS.

    Notes
    -----
    Per new frame: one DIS call on images a quarter of the alignment image's
    size, one composition per further older frame (:func:`~vidclear.hdr.
    _video_kernels.compose_flow_k`), and per older frame one bilinear scaling
    of the flow and one remap at full resolution.
    """

    def __init__(self, window: int, response: np.ndarray) -> None:
        self.window = int(window)
        self.response = np.asarray(response)
        self._dis: cv2.DISOpticalFlow | None = None
        self._dis_finest = 0
        self._luts: dict[float, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every frame."""
        self._green: list[np.ndarray | None] = [None] * self.window
        self._halved = [False] * self.window
        self._exposure = [1.0] * self.window
        self._back: list[np.ndarray | None] = [None] * self.window

    def set_response(self, response: np.ndarray) -> None:
        """Use a new camera response (after calibration) for exposure matching."""
        self.response = np.asarray(response)
        self._luts.clear()

    def rescale(self, slots: list[int], factor: float) -> None:
        """Multiply the relative exposures of ``slots`` by ``factor`` (a new scale for them)."""
        for slot in slots:
            self._exposure[slot] *= factor

    def add(self, slot: int, small: np.ndarray, exposure: float) -> None:
        """A new frame in ``slot``: its reduced H×W×3 uint8 image and relative exposure."""
        green = flow_image(small)
        self._green[slot] = green
        self._halved[slot] = green.shape[0] < small.shape[0]
        self._exposure[slot] = float(exposure)
        self._back[slot] = None

    def _gray(self, green: np.ndarray, gain: float) -> np.ndarray:
        """A green channel re-exposed by ``gain`` and re-encoded (uint8)."""
        key = round(gain, 9)
        lut = self._luts.get(key)
        if lut is None:
            resp = self.response[:, 1].astype(np.float64)
            lin = np.minimum(resp * gain / resp[255], 1.0)
            lut = np.clip(np.power(lin, 1 / 2.2) * 255.0 + 0.5, 0, 255).astype(np.uint8)
            if len(self._luts) > 64:
                self._luts.clear()
            self._luts[key] = lut
        return lut[green]

    def _pair(self, newer: int, older: int, out: np.ndarray) -> None:
        """DIS flow from slot ``newer`` to slot ``older``, in flow-image pixels, into ``out``.

        ``out[y, x]`` is the displacement at which ``older`` shows what
        ``newer`` shows at (y, x).
        """
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
            self._dis_finest = self._dis.getFinestScale()
        a_img, b_img = self._green[newer], self._green[older]
        if a_img is None or b_img is None:
            raise RuntimeError("flow asked for a slot that holds no frame")
        # one level less when the image was halved: the same flow resolution
        self._dis.setFinestScale(max(0, self._dis_finest - int(self._halved[newer])))
        en, eo = self._exposure[newer], self._exposure[older]
        top = max(en, eo)
        a = self._gray(a_img, top / en)
        b = self._gray(b_img, top / eo)
        # the stubs require an initial flow; the binding takes None for none
        np.copyto(out, self._dis.calc(a, b, None))  # type: ignore[call-overload]

    def flows(self, slots: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Flow from frame ``slots[0]`` to each ``slots[j]`` (n×h×w×2 float32, row 0 unused).

        ``slots`` lists the window newest first; ``size`` is the full (H, W).
        The flows are in full-resolution pixels, sampled on the flow image's
        grid. Valid until the next call.
        """
        n = slots.size
        newest = int(slots[0])
        green = self._green[newest]
        if green is None:
            raise RuntimeError("flow asked for a slot that holds no frame")
        sh, sw = green.shape[:2]
        flows = self._buffers.get("flows")
        if flows is None or flows.shape != (n, sh, sw, 2):
            flows = np.zeros((n, sh, sw, 2), dtype=np.float32)
            self._buffers["flows"] = flows
        back = self._back[newest]
        if back is None or back.shape != (sh, sw, 2):
            back = np.empty((sh, sw, 2), dtype=np.float32)
            self._pair(newest, int(slots[1]), back)
            self._back[newest] = back
        flows[1] = back
        for j in range(2, n):
            step = self._back[int(slots[j - 1])]
            if step is None or step.shape != (sh, sw, 2):  # not kept: measure it directly
                self._pair(newest, int(slots[j]), flows[j])
            else:
                VK.compose_flow_k(flows[j - 1], step, flows[j])
        h, w = size
        flows[1:, :, :, 0] *= np.float32(w / sw)  # to full-resolution pixels
        flows[1:, :, :, 1] *= np.float32(h / sh)
        return flows

    def warp(self, ring: np.ndarray, slots: np.ndarray, spare: int) -> np.ndarray:
        """Warp the older frames of the window onto the newest; return the slots to merge.

        ``ring`` is N×H×W×4 uint8 with free slots from ``spare`` on, where
        the warped frames go (bilinear, edges repeated). The returned slots
        are the newest frame's own, then those.
        """
        h, w = ring.shape[1:3]
        flows = self.flows(slots, (h, w))
        n = slots.size
        out = np.arange(spare - 1, spare - 1 + n, dtype=np.int64)
        out[0] = slots[0]
        pos = self._buffers.get("map")
        if pos is None or pos.shape != (h, w, 2):
            pos = np.empty((h, w, 2), dtype=np.float32)
            self._buffers["map"] = pos
        for j in range(1, n):
            if flows.shape[1:3] == (h, w):
                np.copyto(pos, flows[j])
            else:
                cv2.resize(flows[j], (w, h), dst=pos, interpolation=cv2.INTER_LINEAR)
            if RELATIVE_MAP:  # OpenCV >= 4.10 adds the pixel position itself
                cv2.remap(ring[int(slots[j])], pos, None, cv2.INTER_LINEAR | RELATIVE_MAP,
                          dst=ring[out[j]], borderMode=cv2.BORDER_REPLICATE)
                continue
            grid = self._buffers.get("grid")
            if grid is None or grid.shape != (h, w, 2):
                gx, gy = np.meshgrid(np.arange(w, dtype=np.float32),
                                     np.arange(h, dtype=np.float32))
                grid = np.ascontiguousarray(np.stack([gx, gy], axis=-1))
                self._buffers["grid"] = grid
            np.add(pos, grid, out=pos)
            cv2.remap(ring[int(slots[j])], pos, None, cv2.INTER_LINEAR, dst=ring[out[j]],
                      borderMode=cv2.BORDER_REPLICATE)
        return out

    def __repr__(self) -> str:
        kept = sum(b is not None for b in self._back)
        return f"WindowFlow(window={self.window}, flows_kept={kept})"
