"""An independent, deliberately plain re-statement of the paper's formulas (one hand at a time, loops,
numpy.cross, arccos with the supplementary octant lookup, world-frame Rodrigues rotations).

It shares no code with handkin and exists only to test handkin against Eq. 1–6 as written.
"""

import numpy as np

PARENTS = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]
ROOT_CHILDREN = [1, 5, 9, 13, 17]  # first joint of each finger


def norm(v):
    return v / np.linalg.norm(v)


def alpha(v1, v2):
    """The paper's angle between two vectors, with arccos."""
    c = np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2))
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


def root_bones(j):
    return [j[c] - j[0] for c in ROOT_CHILDREN]


def normals(j):
    b = root_bones(j)
    return [norm(np.cross(b[i + 1], b[i])) for i in range(4)]


def curvature(j):
    b, n = root_bones(j), normals(j)
    e = [n[0]] + [norm(n[i] + n[i - 1]) for i in range(1, 4)] + [n[3]]
    return np.array(
        [np.dot(e[i + 1] - e[i], b[i + 1] - b[i]) / np.dot(b[i + 1] - b[i], b[i + 1] - b[i]) for i in range(4)]
    )


def angular_distance(j):
    b = root_bones(j)
    return np.array([alpha(b[i], b[i + 1]) for i in range(4)])


def first_frame(j, finger):
    """Eq. 4 with its case distinction, p(i) = finger + 1 (1-based root bone index)."""
    b, n = root_bones(j), normals(j)
    p = finger + 1
    z = norm(b[finger])
    if p in (1, 2):
        x = -n[p - 1]
    elif p in (3, 4):
        x = -norm(n[p - 1] + n[p - 2])
    else:
        x = -n[3]
    y = norm(np.cross(z, x))
    return np.stack([x, y, z], axis=1)


def paper_angles(b_local):
    """Eq. 5 with the octant lookup of supplementary Eq. 2, arccos-based."""
    proj = np.array([b_local[0], 0.0, b_local[2]])
    f = alpha(proj, np.array([0.0, 0.0, 1.0]))
    a = alpha(proj, b_local)
    if b_local[0] < 0:
        f = -f
    if b_local[1] < 0:
        a = -a
    return f, a


def rodrigues(z, d):
    """World-frame minimal rotation taking unit z onto unit d."""
    v = np.cross(z, d)
    c = float(np.dot(z, d))
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def joint_angles(j):
    """All 15 (flexion, abduction) pairs, finger-major, by walking each chain (Eq. 6: F_i = R F_p(i))."""
    out = np.zeros((15, 2))
    for finger in range(5):
        F = first_frame(j, finger)
        chain = [ROOT_CHILDREN[finger] + k for k in range(4)]
        for level in range(3):
            bone = j[chain[level + 1]] - j[chain[level]]
            local = F.T @ bone
            out[3 * finger + level] = paper_angles(local)
            F = rodrigues(F[:, 2], norm(bone)) @ F
    return out
