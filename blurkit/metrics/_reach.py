"""How far from the head the disturbance outside it reaches.

Motion during the acquisition and JPEG compression both put faint detail
just outside the head, and ``outer_detail`` reads them alike: on the
challenge's sharp slices, JPEG at quality 75-95 and phase errors gave the
same ``outer_detail`` (medians 0.68 and 0.69). They differ in how far that
detail reaches:

- JPEG quantises each 8x8 block on its own: a block without any of the head
  (a constant background) comes back constant, so its ringing stays within
  the blocks that hold an edge, at most 7 pixels from the head;
- motion's ghosts are copies of the head's edges, moved along the
  phase-encoding axis: some of them land farther out.

``reach`` is log10 of the share of the energy outside the head (squared
intensities less the background's median) that lies more than
`REACH_DISTANCE` pixels from it (Chebyshev distance), plus `REACH_FLOOR`.
The head is every pixel above a tenth of the way from the background's floor
(the 5th percentile) to the top (the 99th), as for the outer features.

On 80 of the challenge's sharp training slices: clean -3, the floor (no
energy beyond 7 pixels of the head); JPEG at quality 75-95 (Pillow, aligned
with the slice or cropped by 3 pixels) -3 to -2.88 (ringing of pixels below
the head's threshold, in blocks of their own); phase errors on 30-50% of
the lines -1.7 to -1.0, blurkit's k-space motion -2.2 to -0.5, TorchIO's
in-plane motion -1.6 to -0.7. Noise spreads over the whole background and
reaches far too (2% of the range, clipped: -0.7 to -0.5, about the share of
the background's area beyond 7 pixels): the other features tell noise
from motion. It costs about 0.16 ms per slice, so it is computed only
behind the gate below.

It is the feature of ``SharpnessFeatures(reach=True)``, computed only for
slices with detail outside the head or streaks far from it (the motion gate
of `~blurkit.metrics._sharpness.sharpness_features`), at the image's own size;
other slices take `REACH_NONE`, a clean slice's value.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._outer import _middles, sorted_head_threshold

__all__ = [
    "REACH_DISTANCE",
    "REACH_FLOOR",
    "REACH_NAMES",
    "REACH_NONE",
    "reach_stack",
]

REACH_NAMES = ("reach",)
"""The column `reach` computes."""

REACH_DISTANCE = 7
"""Pixels from the head within which energy does not count as reaching far:
the farthest a pixel of an 8x8 JPEG block can lie from another pixel of the
same block."""

REACH_FLOOR = 1e-3
"""Added to the share before the log: at most 3 decades below 1."""

REACH_NONE = float(np.log10(REACH_FLOOR))
"""``reach`` of a slice with no energy outside its head, or beyond the gate."""


def reach_stack(stack: np.ndarray) -> np.ndarray:
    """``reach`` of each image of a stack, shape (n,): see the module's
    docstring.

    ``stack`` is (n, H, W), finite, float32 and of moderate magnitude
    (8-bit levels, or as ``_sharpness._float32_scratch`` scales it), so
    that its squares neither overflow nor vanish; it is used as scratch
    space. `REACH_NONE` for an image with no head, no background or no
    energy in the background (a clean slice, a constant image). The
    percentiles and the background's median are read on every other pixel
    of every other row (statistics of thousands of values on a slice, a
    quarter of the sorting), from one sort of them; the energies on every
    pixel.
    """
    n = len(stack)
    ordered = np.sort(stack[:, ::2, ::2].reshape(n, -1), axis=1)
    threshold = sorted_head_threshold(ordered).astype(np.float32)
    # The sample's background: the first values of each sorted row.
    n_background = np.sum(ordered <= threshold[:, None], axis=1)
    level = _middles(ordered, 0, n_background).astype(np.float32)
    head = stack > threshold[:, None, None]
    stack -= level[:, None, None]
    stack *= stack
    stack[head] = 0.0
    total = stack.sum(axis=(1, 2), dtype=np.float64)
    # Within REACH_DISTANCE of the head (Chebyshev), image by image.
    side = 2 * REACH_DISTANCE + 1
    stack[ndimage.maximum_filter(head, size=(1, side, side), mode="constant")] = 0.0
    far = stack.sum(axis=(1, 2), dtype=np.float64)
    values = np.log10(far / np.where(total > 0.0, total, 1.0) + REACH_FLOOR)
    return np.where((n_background > 0) & (total > 0.0), values, REACH_NONE)
