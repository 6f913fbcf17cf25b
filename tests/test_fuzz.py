"""Fuzzing the file readers and the limits loader: a damaged file gives a handkin error or a valid result, never
another exception.

Each example starts from a valid file (NPZ, NPY, JSON, CSV, MediaPipe JSON and NPZ dumps, a limits JSON), damages
it — bytes truncated, flipped, inserted or replaced by random ones; for JSON a value replaced by one of another
type, a key dropped, a list shortened; for NPZ an array replaced or dropped; for CSV a cell or a line changed — and
reads it back. Deterministic (``derandomize``), no example database.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handkin
from handkin import JointLimits, posed_hand
from handkin.errors import HandkinError
from handkin.io import HandSequence, load, save

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------- valid files


def _sequence() -> HandSequence:
    rng = np.random.default_rng(0)
    hand = posed_hand(np.radians(rng.uniform(-10, 60, (4, 15, 2)) * [1, 0.3]), units="mm")
    return HandSequence.from_skeleton(hand, fps=30.0, source="fuzz")


def _mediapipe_dump(seq: HandSequence) -> dict:
    world = seq.to_units("m").joints
    image = 0.5 + world / 0.4
    return {
        f"frame_{i}.jpg": {
            "image_size": [640, 480],
            "handedness": [["Left", 0.97]],
            "landmarks_norm": [image[i].tolist()],
            "world_landmarks_m": [world[i].tolist()],
        }
        for i in range(len(seq))
    }


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


class _Files(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<{len(self)} files>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    """One valid file of each kind, as bytes (the suffix is the key's)."""
    folder = tmp_path_factory.mktemp("originals")
    seq = _sequence()
    out = _Files()
    for suffix in (".npz", ".npy", ".json", ".csv"):
        out[f"seq{suffix}"] = save(seq, folder / f"seq{suffix}").read_bytes()
    out["mediapipe.json"] = json.dumps(_mediapipe_dump(seq)).encode()
    world = seq.to_units("m").joints.astype(np.float32)
    out["mediapipe.npz"] = _npz_bytes(
        {
            "world_landmarks_m": world,
            "landmarks_norm": 0.5 + world / 0.4,
            "handedness": np.array(["Left"] * len(seq)),
            "image_size": np.array([640, 480]),
        }
    )
    return out


# ---------------------------------------------------------------------------------------------- damage


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def damage_bytes(data, raw: bytes) -> bytes:
    """Truncate, flip, insert or overwrite bytes, or replace the whole file with random bytes."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert", "random", "empty"]), label="byte damage")
    if kind == "truncate":
        return raw[: data.draw(st.integers(0, max(0, len(raw) - 1)), label="keep")]
    if kind == "random":
        return data.draw(st.binary(max_size=512), label="random bytes")
    if kind == "empty":
        return b""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8), label="edits")):
        at = data.draw(st.integers(0, len(out)), label="at")
        value = data.draw(st.integers(0, 255), label="byte")
        if kind == "flip" and at < len(out):
            out[at] = value
        else:
            out.insert(at, value)
    return bytes(out)


def damage_tree(data, node, depth: int = 0):
    """A copy of the JSON tree ``node`` with one place changed: a value replaced (often by another type), a key
    dropped or added, a list shortened, lengthened or emptied."""
    containers = isinstance(node, (dict, list)) and len(node) > 0
    if containers and depth < 8 and data.draw(st.booleans(), label="descend"):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys), label="key")
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[key] = damage_tree(data, node[key], depth + 1)
        return copy
    kind = data.draw(st.sampled_from(["replace", "drop", "add", "shorten", "lengthen", "swap"]), label="tree damage")
    if kind == "drop" and containers:
        copy = dict(node) if isinstance(node, dict) else list(node)
        del copy[data.draw(st.sampled_from(list(copy) if isinstance(copy, dict) else list(range(len(copy)))))]
        return copy
    if kind == "add" and isinstance(node, dict):
        return {**node, data.draw(st.text(max_size=12), label="new key"): data.draw(json_values, label="new value")}
    if kind == "shorten" and isinstance(node, list):
        return node[: data.draw(st.integers(0, max(0, len(node) - 1)), label="length")]
    if kind == "lengthen" and isinstance(node, list):
        return node + [node[-1] if node else None, data.draw(json_values, label="extra")]
    if kind == "swap":  # the same value as another JSON type
        swapped = {
            int: lambda v: str(v),
            float: lambda v: [v],
            str: lambda v: len(v),
            list: lambda v: {str(i): x for i, x in enumerate(v)},
            dict: lambda v: list(v.values()),
            bool: lambda v: int(v),
            type(None): lambda v: 0,
        }
        return swapped[type(node)](node)
    return data.draw(json_values, label="replacement")


def damage_npz(data, raw: bytes) -> bytes:
    """The archive with one array replaced (by one of another dtype or shape, or a string), dropped or added."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    key = data.draw(
        st.sampled_from(sorted(arrays) + ["fps", "units", "side", "order", "times", "extra"]), label="array"
    )
    kind = data.draw(st.sampled_from(["replace", "drop", "reshape", "retype"]), label="npz damage")
    if kind == "drop":
        arrays.pop(key, None)
    elif kind == "reshape" and key in arrays:
        arrays[key] = arrays[key].reshape(-1)[: data.draw(st.integers(0, arrays[key].size))]
    elif kind == "retype" and key in arrays:
        dtype = data.draw(st.sampled_from(["U3", "S2", "int8", "bool", "complex64"]), label="dtype")
        try:
            arrays[key] = arrays[key].astype(dtype)
        except (TypeError, ValueError):  # e.g. 'mp21' as int8
            arrays[key] = np.zeros(arrays[key].shape, dtype)
    else:
        value = data.draw(json_values, label="value")
        try:
            arrays[key] = np.asarray(value)
        except ValueError:  # ragged: numpy refuses without dtype=object
            arrays[key] = np.asarray(value, dtype=object)
    return _npz_bytes(arrays)  # object arrays are pickled: the reader must refuse them


def damage_csv(data, raw: bytes) -> bytes:
    """One line dropped, duplicated or cut, one cell replaced by random text, or a ``# key: value`` line changed."""
    lines = raw.decode().splitlines()
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    kind = data.draw(st.sampled_from(["drop", "duplicate", "cut", "cell", "meta"]), label="csv damage")
    if kind == "meta":  # a '# key: value' line (units, side, fps) with another value
        key = data.draw(st.sampled_from(["units", "side", "fps"]), label="meta key")
        value = data.draw(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=8))
        lines = [ln for ln in lines if not ln.startswith(f"# {key}:")]
        lines.insert(0, f"# {key}: {value}")
    elif kind == "drop":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "cut":
        lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])), label="cut at")]
    else:
        cells = lines[i].split(",")
        j = data.draw(st.integers(0, len(cells) - 1), label="cell")
        cells[j] = data.draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=12), label="text")
        lines[i] = ",".join(cells)
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


def damaged(data, name: str, raw: bytes) -> bytes:
    """``raw`` damaged in a way that suits its kind (bytes always; trees, arrays, cells by kind)."""
    ways = ["bytes"]
    if name.endswith(".json"):
        ways.append("tree")
    if name.endswith(".npz"):
        ways.append("arrays")
    if name.endswith(".csv"):
        ways.append("cells")
    way = data.draw(st.sampled_from(ways), label="way")
    if way == "tree":
        tree = damage_tree(data, json.loads(raw))
        return json.dumps(tree).encode()
    if way == "arrays":
        return damage_npz(data, raw)
    if way == "cells":
        return damage_csv(data, raw)
    return damage_bytes(data, raw)


def _loaded_or_handkin_error(read, path: Path):
    """``read(path)``: the result, or ``None`` for a handkin error; any other exception fails the test."""
    try:
        return read(path)
    except HandkinError:
        return None


# ---------------------------------------------------------------------------------------------- the fuzzers


@pytest.mark.parametrize("name", ["seq.npz", "seq.npy", "seq.json", "seq.csv", "mediapipe.json", "mediapipe.npz"])
@FUZZ
@given(data=st.data())
def test_readers_give_a_handkin_error_or_a_sequence(originals, tmp_path_factory, name, data):
    raw = originals[name]
    path = tmp_path_factory.getbasetemp() / f"fuzzed_{name}"
    path.write_bytes(damaged(data, name, raw))
    kwargs = {"units": "mm"} if name == "seq.npy" else {}
    seq = _loaded_or_handkin_error(lambda p: load(p, **kwargs), path)
    if seq is not None:
        assert isinstance(seq, HandSequence)
        assert seq.joints.ndim == 3 and seq.joints.shape[1:] == (21, 3) and seq.times.shape == (len(seq),)
        seq.problems()
    if name.startswith("mediapipe"):  # the image landmarks too (with the image size from the file, or given)
        _loaded_or_handkin_error(lambda p: load(p, kind="image", image_size=(640, 480)), path)


@pytest.fixture(scope="module")
def limits_json() -> dict:
    return _Files(json.loads(JointLimits.default(couplings=True).model_dump_json()))


@FUZZ
@given(data=st.data())
def test_limits_loader_gives_a_limits_error_or_valid_limits(limits_json, tmp_path_factory, data):
    raw = json.dumps(limits_json).encode()
    path = tmp_path_factory.getbasetemp() / "fuzzed_limits.json"
    path.write_bytes(damaged(data, "limits.json", raw))
    limits = _loaded_or_handkin_error(JointLimits.load, path)
    if limits is not None:  # valid limits work
        assert limits.polygon_array.shape[0] == 15
        hand = posed_hand(np.zeros((2, 15, 2)))
        report = _loaded_or_handkin_error(limits.check, hand)  # a UnitsError is fine (e.g. 'ref' ↔ 'mm' limits)
        if report is not None:
            assert report.ok.shape == (2,)


def test_fuzz_originals_are_valid(originals, tmp_path):
    """The starting points of the fuzzers read back (so the damage, not the original, is what is tested)."""
    for name, raw in originals.items():
        path = tmp_path / name
        path.write_bytes(raw)
        assert len(load(path, **({"units": "mm"} if name == "seq.npy" else {}))) == 4
    assert zipfile.is_zipfile(io.BytesIO(originals["seq.npz"]))
    assert handkin.JointLimits(**json.loads(JointLimits.default().model_dump_json())).joint_angles


# ---------------------------------------------------------------------------------------------- what the fuzzers found


@pytest.mark.parametrize(
    "change, match",
    [
        ({"bone_lengths": None}, "bone limits must be a mapping.*NoneType"),  # before: AttributeError
        ({"joint_angles": [1, 2]}, "angle joint limits must be a mapping.*list"),
        ({"palm_angles": "wide"}, "palm pair limits must be a mapping.*str"),
        ({"provenance": [1]}, "provenance of type list"),  # before: AttributeError ('list' has no attribute 'get')
        ({"joint_angles": {"index_pip": {"points": "round"}}}, "joint 'index_pip'"),
    ],
)
def test_limits_files_with_wrong_types_are_limits_errors(tmp_path, change, match):
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(json.loads(JointLimits.default().model_dump_json()) | change))
    with pytest.raises(handkin.errors.LimitsError, match=match):
        JointLimits.load(path)


def test_a_deeply_nested_limits_file_is_a_limits_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(handkin.errors.LimitsError, match="nested too deeply"):  # before: RecursionError
        JointLimits.load(path)
