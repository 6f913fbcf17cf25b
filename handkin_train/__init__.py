"""handkin_train — trains the BMC paper's 2.5D ResNet-50 with Z_root refinement using handkin's losses.

Spurr et al., "Weakly Supervised 3D Hand Pose Estimation via Biomechanical Constraints" (ECCV
2020), §3.2–3.3, §4 and supplementary §8. Requires torch and torchvision
(``pip install 'handkin[train]'``). The model, objective, data and engine arrive with their issues;
for now this package only marks its place.
"""

__version__ = "0.1.0"
