"""The 30-second tour: build a skeleton, measure bones, convert orders and units, use torch.

Run: python examples/quickstart.py
"""

import numpy as np

import handkin
from handkin import Bone, HandSkeleton

# Any (..., 21, 3) array in a registered order; here the built-in flat adult hand, as RHD would store it.
template = handkin.flat_hand(units="mm")
rhd_array = template.to_order("rhd")  # wrist, then each finger tip→base
batch = np.stack([rhd_array, rhd_array * 1.1])  # two hands, the second 10 % larger

hands = HandSkeleton(joints=batch, order="rhd", units="mm", side="right")  # stored in canonical MP21
print(hands)
print("index finger PIP bone (mm):", hands.bone_lengths[:, Bone.index_pip])
print("index tip position (mm):", hands["index_tip"][0])
print("normalised bone lengths (wrist→middle_mcp = 1):", np.round(hands.normalized().bone_lengths[1, :4], 3))
print("same hands in metres:", hands.to_units("m"))
print("as a left hand:", hands.mirror())

try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    joints = torch.tensor(batch, requires_grad=True)
    t = HandSkeleton(joints=joints, order="rhd", units="mm")
    t.normalized().bone_lengths.sum().backward()  # gradients flow through every operation
    print("torch:", t, "grad finite:", bool(torch.isfinite(joints.grad).all()))
