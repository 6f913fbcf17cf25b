"""Dataset files that are hostile or hold wrong content (issue 21): pickles through the restricted unpickler,
prepared caches and folder datasets checked when they are opened (one DatasetError naming file and sample)."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
from collections import OrderedDict

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("PIL.Image")

from test_train_data import write_folder, write_ho3d, write_rhd  # noqa: E402

from handkin.orders import convert  # noqa: E402
from handkin_train.data import PreparedHands, prepare, read_folder, read_ho3d, read_rhd  # noqa: E402
from handkin_train.data.files import load_pickle  # noqa: E402
from handkin_train.errors import DatasetError  # noqa: E402


# ------------------------------------------------------------------------------------------- pickles
class _Py2Pickler(pickle._Pickler):
    """Writes pickles as Python 2 did at protocol 2: ``str``/``bytes`` as Python-2 strings (``BINSTRING``),
    builtins as ``__builtin__`` and numpy's functions under ``numpy.core`` (see :func:`py2_pickle`)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _py2_string(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        head = (
            pickle.SHORT_BINSTRING + bytes([len(data)])
            if len(data) < 256
            else pickle.BINSTRING + struct.pack("<i", len(data))
        )
        self.write(head + data)
        self.memoize(obj)

    dispatch[str] = _py2_string
    dispatch[bytes] = _py2_string


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"cnumpy._core.", b"cnumpy.core.")  # GLOBAL opcodes: text, newline-ended


PROTOCOLS = ["python2", 2, 4, 5]


def dumps(obj, protocol) -> bytes:
    return py2_pickle(obj) if protocol == "python2" else pickle.dumps(obj, protocol=protocol)


class Payload:
    """Unpickling this makes a directory (what a malicious annotation file could do instead)."""

    def __init__(self, target, how: str) -> None:
        self.target, self.how = str(target), how

    def __reduce__(self):
        if self.how == "exec":
            return (exec, (f"import os; os.mkdir({self.target!r})",))
        return (os.mkdir, (self.target,))


def assert_same(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("protocol", ["python2", 0, 1, 2, 3, 4, 5])
def test_load_pickle_reads_numpy_and_builtin_values_at_every_protocol(tmp_path, protocol):
    value = {
        7: {
            "xyz": np.arange(126, dtype=np.float32).reshape(42, 3),
            "K": np.eye(3),
            "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
            "strided": np.arange(9.0)[::2],
            "records": np.zeros(2, dtype=[("a", "<f4"), ("b", "<i8")]),
            "names": np.array(["ab", "c"]),
            "scalar": np.float64(1.5),
            "count": np.int64(3),
        },
        "meta": OrderedDict(a=(1, 2.5, None, True)),
        "set": {1, 2},
        "frozen": frozenset({"x"}),
        "complex": 1 + 2j,
    }
    path = tmp_path / "x.pickle"
    path.write_bytes(dumps(value, protocol))
    assert_same(load_pickle(path), pickle.loads(path.read_bytes(), encoding="latin1"))


@pytest.mark.parametrize("how", ["mkdir", "exec"])
@pytest.mark.parametrize("reader", ["rhd", "ho3d"])
def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path, reader, how):
    target = tmp_path / "created_by_the_pickle"
    if reader == "rhd":
        write_rhd(tmp_path, [(21, 21)])
        path = tmp_path / "training" / "anno_training.pickle"
        payload = {0: {"xyz": Payload(target, how), "uv_vis": np.zeros((42, 3)), "K": np.eye(3)}}
    else:
        write_ho3d(tmp_path)
        path = tmp_path / "train" / "ABF10" / "meta" / "0001.pkl"
        payload = {"handJoints3D": Payload(target, how), "camMat": np.eye(3)}
    path.write_bytes(pickle.dumps(payload, protocol=2))
    forbidden = r"__builtin__\.exec" if how == "exec" else rf"{os.mkdir.__module__}\.mkdir"  # protocol 2 names
    with pytest.raises(DatasetError, match=rf"{path.name}: refused to unpickle: the pickle names {forbidden}"):
        read_rhd(tmp_path) if reader == "rhd" else read_ho3d(tmp_path)
    assert not target.exists()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_rhd_and_ho3d_pickles_written_at_any_protocol_still_load(tmp_path, protocol):
    write_rhd(tmp_path / "rhd", [(21, 3), (2, 15)])
    anno_path = tmp_path / "rhd" / "training" / "anno_training.pickle"
    expected = read_rhd(tmp_path / "rhd")
    with open(anno_path, "rb") as f:
        anno = pickle.load(f)
    anno_path.write_bytes(dumps(anno, protocol))
    got = read_rhd(tmp_path / "rhd")
    np.testing.assert_array_equal(got.joints, expected.joints)
    np.testing.assert_array_equal(got.uv, expected.uv)
    assert got.key.tolist() == expected.key.tolist()

    write_ho3d(tmp_path / "ho3d")
    expected = read_ho3d(tmp_path / "ho3d")
    for meta in (tmp_path / "ho3d" / "train").glob("*/meta/*.pkl"):
        with open(meta, "rb") as f:
            m = pickle.load(f)
        meta.write_bytes(dumps({**m, "objLabel": np.int32(4), "handBeta": np.zeros(10, np.float32)}, protocol))
    got = read_ho3d(tmp_path / "ho3d")
    np.testing.assert_array_equal(got.joints, expected.joints)
    np.testing.assert_array_equal(got.K, expected.K)


# ------------------------------------------------------------------------------------------- prepared caches
@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    write_folder(root, n=4)
    return prepare(read_folder(root), root / "cache", image_size=32)


def tampered(cache, tmp_path, name: str, change) -> os.PathLike:
    out = tmp_path / "cache"
    shutil.copytree(cache, out)
    value = np.load(out / f"{name}.npy")
    np.save(out / f"{name}.npy", change(value.copy()), allow_pickle=False)
    return out


def _set(index, value):
    def change(a):
        a[index] = value
        return a

    return change


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("joints", _set(..., np.nan), r"joints.npy: sample 0 \(and 3 more of the 4 samples\): 3D joints hold NaN"),
        ("K", _set(..., 0.0), r"K.npy: sample 0 \(and 3 more of the 4 samples\): intrinsics K need positive focal"),
        ("K", _set((2, 1, 1), -300.0), r"K.npy: sample 2: intrinsics K need positive focal lengths"),
        ("uv", _set((1, 3, 0), np.inf), r"uv.npy: sample 1: 2D joints \(uv\) hold NaN or infinite values"),
        ("joints", _set((3, 5, 2), -40.0), r"joints.npy: sample 3 has 3D joints at or behind the camera"),
        ("joints", lambda a: convert(a, "rhd", "mp21"), r"joints.npy: sample 0 \(and 3 more.*joint order 'rhd'"),
    ],
)
def test_a_cache_with_bad_labels_is_refused_when_opened(cache, tmp_path, name, change, message):
    PreparedHands(cache)  # the original is fine
    with pytest.raises(DatasetError, match=message):
        PreparedHands(tampered(cache, tmp_path, name, change))


def test_a_cache_held_in_memory_is_checked_too(cache):
    arrays = {"manifest": json.loads((cache / "manifest.json").read_text())}
    arrays.update({p.stem: np.load(p) for p in cache.glob("*.npy")})
    arrays["joints"] = arrays["joints"].copy()
    arrays["joints"][2, 0, 0] = np.nan
    with pytest.raises(DatasetError, match=r"the prepared arrays \(joints\): sample 2: 3D joints hold NaN"):
        PreparedHands(arrays)


@pytest.mark.parametrize("count", [9, 3, "4", None])
def test_a_cache_whose_count_disagrees_with_its_arrays_is_refused(cache, tmp_path, count):
    out = tmp_path / "cache"
    shutil.copytree(cache, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["count"] = count
    (out / "manifest.json").write_text(json.dumps(manifest))
    message = "'count' is" if isinstance(count, int) else "'count' must be the number of hands"
    with pytest.raises(DatasetError, match=rf"manifest.json: {message}"):
        PreparedHands(out)


# ------------------------------------------------------------------------------------------- folder datasets
def rewrite(root, **changes) -> None:
    data = json.loads((root / "hands.json").read_text())
    data.update(changes)
    (root / "hands.json").write_text(json.dumps(data))


def test_folder_in_another_order_than_declared_is_refused(tmp_path):
    joints, _, _, _ = write_folder(tmp_path)
    rewrite(tmp_path, order="rhd")  # the joints are MP21: uv and xyz are permuted alike, so they still agree
    with pytest.raises(DatasetError, match=r"hands.json: sample 0 \(and 3 more of the 4 samples\): .*order 'mp21', "
                       r"not of the declared 'rhd'. Set 'order' to 'mp21'"):  # fmt: skip
        read_folder(tmp_path)


@pytest.mark.parametrize("order", ["mp21", "mano21", "rhd", "interhand"])
@pytest.mark.parametrize("labels", ["3d", "2d"])
def test_folder_in_its_declared_order_reads_and_a_wrong_one_is_named(tmp_path, order, labels):
    joints, _, uv, _ = write_folder(tmp_path, n=5, left=(1, 3))
    data = json.loads((tmp_path / "hands.json").read_text())
    for s in data["samples"]:
        s["uv"] = convert(np.asarray(s["uv"]), "mp21", order).tolist()
        if labels == "3d":
            s["xyz"] = convert(np.asarray(s["xyz"]), "mp21", order).tolist()
        else:
            del s["xyz"]
    data["order"] = order
    (tmp_path / "hands.json").write_text(json.dumps(data))
    r = read_folder(tmp_path)
    np.testing.assert_allclose(r.uv, uv, atol=1e-9)
    if labels == "3d":
        np.testing.assert_allclose(r.joints, joints, atol=1e-9)
    wrong = "mp21" if order != "mp21" else "rhd"
    rewrite(tmp_path, order=wrong)
    with pytest.raises(DatasetError, match=rf"bone lengths of joint order '{order}', not of the declared '{wrong}'"):
        read_folder(tmp_path)


def test_folder_infinite_labels_are_errors_not_missing_labels(tmp_path):
    write_folder(tmp_path)
    data = json.loads((tmp_path / "hands.json").read_text())
    good = json.dumps(data)
    data["samples"][2]["uv"][7] = [float("inf"), 10.0]
    (tmp_path / "hands.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"hands.json: sample 2: 2D joints hold NaN or infinite values"):
        read_folder(tmp_path)
    data = json.loads(good)
    data["samples"][1]["xyz"] = [[float("inf")] * 3] * 21
    (tmp_path / "hands.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"hands.json: sample 1: 3D joints hold NaN or infinite values"):
        read_folder(tmp_path)


@pytest.mark.parametrize("version", ["abc", 1.5, True, [1], float("inf")])
def test_folder_version_that_is_not_a_number_is_named(tmp_path, version):
    write_folder(tmp_path)
    rewrite(tmp_path, version=version)
    with pytest.raises(DatasetError, match=r"hands.json: 'version' must be a whole number .* got"):
        read_folder(tmp_path)
    rewrite(tmp_path, version=2)
    with pytest.raises(DatasetError, match=r"hands.json: format 'handkin-hands' version 2; this reads"):
        read_folder(tmp_path)
