"""Built-in synthetic training data (issue #7): plausible right hands rendered with real depth cues, exact labels.

Nothing is downloaded. One sample is made in three steps, each vectorised over a batch:

1. :func:`sample_poses` (:mod:`handkin.sampling`, re-exported here) — a right hand in millimetres in its own
   frame (handkin's template frame): the template's palm and bone lengths scaled to a random hand size
   (optionally jittered inside the limits' bone intervals, the palm slightly cupped inside the palm limits),
   and 15 joint angles drawn inside the :class:`handkin.JointLimits` polygons, posed by handkin's forward
   kinematics (:meth:`handkin.HandSkeleton.from_angles`).
2. :func:`sample_cameras` (:mod:`.cameras`) — a uniformly random 3D orientation, a random focal length and a
   translation that puts the hand's 2D bounding box at 50–90 % of the crop (default), every joint in front of
   the camera.
3. :func:`render` (:mod:`.render`) — a random background (gradient, low-frequency noise, stripes, rectangles
   and ellipses, some skin-coloured as distractors) and the hand as shaded 3D primitives (:mod:`.hand`):
   tapered capsules for the finger bones (spheres at the joints), a rounded slab for the palm, optionally a
   forearm; perspective projection (pixel radius ``f·r/Z``), a per-pixel depth buffer (:mod:`.raster`, a
   generic rasteriser of capsules and triangles: nearer parts occlude farther ones), Lambert and a little
   specular shading from a random light, a random skin tone (or a glove), sensor noise and blur.

:class:`SyntheticHands` (:mod:`.dataset`) wraps the three into a torch ``Dataset`` with the 2.5D labels of
:func:`handkin.camera.to_25d`; any sample can be marked 2D-only. :class:`SyntheticConfig` (:mod:`.config`) holds
every range, and :data:`CHUNK` / :data:`RENDER_CHUNK` the chunk sizes that, with the seed, fix the data. Only
right hands are generated: the network predicts right hands and the dataset readers mirror left hands, so
mirrored synthetic hands add nothing.

Frames and units follow ``CONVENTIONS.md``: MP21 joint order, OpenCV camera (x right, y down, z forward),
millimetres, pixel centres at integer coordinates (pixel ``[row, col]`` is at ``(u, v) = (col, row)``).
"""

from handkin.sampling import Range, SamplingConfig, sample_poses

from .cameras import sample_cameras
from .config import CHUNK, RENDER_CHUNK, SyntheticConfig
from .dataset import FILE_VERSION, SyntheticHands
from .hand import (
    JOINT_RADII_REF,
    NUM_PARTS,
    PALM_HALF_THICKNESS_REF,
    PART_ARM,
    PART_PALM,
    PART_PALM_INNER,
    HandPrimitives,
    hand_primitives,
)
from .raster import Raster, rasterize
from .render import SKIN_PALETTE, render

__all__ = [
    "SyntheticConfig",
    "SyntheticHands",
    "sample_poses",
    "sample_cameras",
    "render",
    "rasterize",
    "hand_primitives",
    "Raster",
    "HandPrimitives",
    "JOINT_RADII_REF",
    "SKIN_PALETTE",
    "CHUNK",
    # also importable here, as before the split
    "PALM_HALF_THICKNESS_REF",
    "PART_PALM",
    "PART_PALM_INNER",
    "PART_ARM",
    "NUM_PARTS",
    "FILE_VERSION",
    "Range",
    # new with the split
    "RENDER_CHUNK",
    "SamplingConfig",
]
