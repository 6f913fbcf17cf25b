"""The BMC loss and constrain(): score implausible hands, repair them, and train joints with BMCLoss.

Run: python examples/losses_and_constrain.py
"""

import numpy as np

import handkin
from handkin import HandSkeleton, JointLimits, constrain

limits = JointLimits.default()

# three hands: plausible, a finger bent backwards, and a stretched fingertip on a reversed palm
good = handkin.posed_hand({"index_pip": (40, 0)}, degrees=True)
bent = handkin.posed_hand({"middle_pip": (-70, 0)}, degrees=True)
odd = np.asarray(handkin.posed_hand({"ring_mcp": (50, -40)}, degrees=True).joints).copy()
odd[[13, 17], 2] += 20.0  # ring and little knuckles pushed 20 mm to the back of the hand: a reversed palm arch
odd[8] += [0.0, 25.0, 0.0]  # index tip 25 mm too far out
hands = HandSkeleton(joints=np.stack([good.joints, bent.joints, odd]), units="mm")

terms = limits.loss(hands, reduction="none")
for name in ("bone_length", "root_bone", "angle", "total"):
    print(f"{name:<12}", np.round(getattr(terms, name), 5))

fixed, report = constrain(hands, limits)
print("plausible after constrain:", limits.check(fixed).ok, "total loss:", report.loss_after.total)
print("largest joint displacement per hand (mm):", np.round(report.displacement.max(axis=-1), 2))

try:
    import torch
except ImportError:
    torch = None
if torch is not None:  # the same loss as a torch module, e.g. on a network's predictions
    loss_fn = handkin.BMCLoss(limits)
    joints = torch.tensor(np.asarray(bent.normalized().joints), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([joints], lr=3e-3)
    start = float(loss_fn(joints).detach())
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn(joints)
        loss.backward()
        opt.step()
    end = float(loss_fn(joints).detach())
    print(f"BMCLoss gradient descent: {start:.5f} -> {end:.7f}")
