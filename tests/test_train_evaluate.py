"""``handkin-train evaluate CKPT --data …`` (issue 18 point 4): the paper's scores of a checkpoint on any dataset —
the real RHD and InterHand2.6M excerpts, a prepared cache, a folder dataset — checked against handkin.metrics on
the same predictions, the printed table against the JSON, and one clear error for each bad input."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from test_train_data import write_folder  # noqa: E402
from test_train_engine import SIZE, tiny_config  # noqa: E402

from handkin import metrics  # noqa: E402
from handkin_train import Trainer  # noqa: E402
from handkin_train.checkpoints import model_from_checkpoint  # noqa: E402
from handkin_train.cli import main as cli_main  # noqa: E402
from handkin_train.config import DatasetConfig  # noqa: E402
from handkin_train.datasets import build_dataset, dataset_from_spec  # noqa: E402
from handkin_train.errors import DatasetError  # noqa: E402
from handkin_train.evaluation import SCORES_3D, evaluate_dataset  # noqa: E402
from handkin_train.runtime import setup_runtime  # noqa: E402

SCORE_KEYS = ("epe_mm", "auc", "epe_root_mm", "auc_root", "epe_aligned_mm", "auc_aligned", "z_mm", "z_rel_mm")
SCORE_KEYS += ("z_root_mm", "uv_px", "uv_px_all")
TABLE_KEYS = (*SCORE_KEYS, "baseline_epe_root_mm")  # the run's checkpoint keeps its mean pose: the baseline too


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny run (ResNet-18, 64 px crops, synthetic hands) after one optimiser step."""
    root = tmp_path_factory.mktemp("evaluate")
    config = tiny_config(root, data={"train": {"size": 4, "seed": 3}, "val": {"size": 4, "seed": 4}})
    return Trainer(config).fit(max_steps=1).checkpoint


def run_evaluate(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(["evaluate", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def table_rows(out: str) -> dict[str, list[str]]:
    """The printed table's rows by set name (the cells after the name)."""
    lines = out.splitlines()
    head = lines[0].split()
    assert head[:3] == ["data", "n", "n_3d"] and head[3:] == list(TABLE_KEYS)
    rows = {}
    for line in lines[1:]:
        if not line.strip():
            break
        name, *cells = line.split()
        rows[name] = cells
    return rows


def assert_table_is_json(out: str, sets: list[dict]) -> None:
    rows = table_rows(out)
    assert list(rows) == [s["name"] for s in sets]
    for s in sets:
        expected = [str(s["n"]), str(s["n_3d"])]
        expected += ["n/a" if s[k] is None else f"{s[k]:.3f}" for k in TABLE_KEYS]
        assert rows[s["name"]] == expected


def reference_scores(ckpt: Path, section: DatasetConfig) -> tuple[dict, dict]:
    """evaluate_dataset on the dataset built from ``section``, and handkin.metrics on the model's predictions of
    all its hands in one batch (the independent path)."""
    model, config = model_from_checkpoint(ckpt)
    data = build_dataset(section, config.model.image_size)
    runtime = setup_runtime(config.runtime)
    scores = evaluate_dataset(model, data, runtime, batch_size=2)
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=len(data))))
    model.eval()
    with torch.no_grad():
        p = model(batch["image"], batch["K"])
    pred = (p.joints * batch["scale"][:, None, None]).double().numpy()
    gt, K = batch["joints"].double().numpy(), batch["K"].double().numpy()
    ev = metrics.evaluate(pred, gt, units="mm", alignments=("none", "root", "procrustes"), K=K, reflection=True)
    visible = batch["uv_visible"] & batch["has_2d"][:, None]
    uv_all = float((p.uv - batch["uv"]).norm(dim=-1)[visible].mean())
    independent = {
        "epe_mm": ev["none"].epe_mean,
        "auc": ev["none"].auc,
        "epe_root_mm": ev["root"].epe_mean,
        "epe_aligned_mm": ev["procrustes"].epe_mean,
        "auc_aligned": ev["procrustes"].auc,
        "uv_px": ev.error_2d_px,
        "uv_px_all": uv_all,
        "n": len(data),
    }
    return scores, independent


def test_evaluate_on_the_rhd_and_interhand_excerpts(checkpoint, tmp_path, capsys):
    rhd = shared_path("rhd_excerpt")
    interhand = shared_path("interhand26m_excerpt")
    specs = {
        "rhd:test_rhd.json": (f"rhd:{rhd / 'test_rhd.json'}", rhd),
        "interhand:test_interhand2.6m_data.json": (
            f"interhand:{interhand / 'test_interhand2.6m_data.json'}",
            interhand,
        ),
    }
    out_json = tmp_path / "scores.json"
    code, out, err = run_evaluate(capsys, checkpoint, *(f"--data={s}" for s, _ in specs.values()), "-o", out_json)
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["checkpoint"] == str(checkpoint) and [s["name"] for s in result["sets"]] == list(specs)
    assert "epe_mm" not in result  # two sets: their scores are in "sets" only
    assert_table_is_json(out, result["sets"])
    for row, (spec, folder) in zip(result["sets"], specs.values(), strict=True):
        hands = len(np.load(folder / "excerpt_mp21_mm.npz")["side"])  # 3 RHD hands, 6 InterHand hands
        assert row["data"] == spec and row["n"] == row["n_3d"] == hands
        assert all(math.isfinite(row[k]) for k in SCORE_KEYS)
        assert f"{row['name']}: {hands} hands, all with 3D labels" in out
        kind, _, path = spec.partition(":")
        scores, independent = reference_scores(checkpoint, DatasetConfig(kind=kind, path=path))
        for k in SCORE_KEYS:
            np.testing.assert_allclose(row[k], scores[k], rtol=1e-6, err_msg=k)
        for k, v in independent.items():
            np.testing.assert_allclose(row[k], v, rtol=1e-4, err_msg=k)


def test_options_belong_to_the_data_before_them(checkpoint, capsys):
    rhd = shared_path("rhd_excerpt", "test_rhd.json")
    interhand = shared_path("interhand26m_excerpt", "test_interhand2.6m_data.json")
    # hands= is an RHD option: given after the RHD set only, the InterHand reader never sees it
    code, out, err = run_evaluate(
        capsys, checkpoint, "--data", f"rhd:{rhd}", "--option", "hands=both", "--data", f"interhand:{interhand}"
    )
    assert code == 0, err
    assert list(table_rows(out)) == ["rhd:test_rhd.json", "interhand:test_interhand2.6m_data.json"]
    code, _, err = run_evaluate(capsys, checkpoint, "--data", f"interhand:{interhand}", "--option", "hands=both")
    assert code == 2 and "--data interhand:" in err and "the interhand reader takes no option hands" in err
    # no hand left: one error naming the set and the file
    code, _, err = run_evaluate(capsys, checkpoint, "--data", f"interhand:{interhand}", "--option", "min_valid=30")
    assert code == 2 and "no hand has 30 or more valid joints" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:  # an --option before any --data: argparse's usage error
        cli_main(["evaluate", str(checkpoint), "--option", "hands=both", "--data", f"rhd:{rhd}"])
    assert exc.value.code == 2 and "give it after the --data it is an option of" in capsys.readouterr().err


def test_prepared_cache_and_folder_give_the_same_scores(checkpoint, tmp_path, capsys):
    folder, cache = tmp_path / "mine", tmp_path / "cache"
    write_folder(folder, n=4)
    assert cli_main(["prepare", "folder", str(folder), "-o", str(cache), "--image-size", str(SIZE), "-q"]) == 0
    capsys.readouterr()
    out_json = tmp_path / "one.json"
    code, out, err = run_evaluate(capsys, checkpoint, "--data", cache, "-o", out_json)  # a bare cache folder
    assert code == 0, err
    one = json.loads(out_json.read_text())
    assert one["kind"] == "prepared" and one["n"] == 4 and one["sets"][0]["epe_mm"] == one["epe_mm"]
    assert_table_is_json(out, one["sets"])
    out_json = tmp_path / "three.json"
    code, out, err = run_evaluate(
        capsys,
        checkpoint,
        "--data",
        f"prepared:{cache}",
        "--data",
        folder,
        "--data",
        f"folder:{folder}",
        "-o",
        out_json,
    )
    assert code == 0, err
    sets = json.loads(out_json.read_text())["sets"]
    assert [s["kind"] for s in sets] == ["prepared", "folder", "folder"]
    assert [s["name"] for s in sets] == ["prepared:cache", "folder:mine", "folder:mine#3"]
    for s in sets:  # the cache holds the crops the folder's hands are cut into at the checkpoint's size
        assert s["n"] == 4 and all(np.isclose(s[k], one[k], rtol=1e-5) for k in SCORE_KEYS)
    assert_table_is_json(out, sets)
    scores, independent = reference_scores(checkpoint, dataset_from_spec(str(cache)))
    assert all(np.isclose(one[k], scores[k], rtol=1e-6) for k in SCORE_KEYS)
    assert np.isclose(one["epe_aligned_mm"], independent["epe_aligned_mm"], rtol=1e-4)
    code, out, _ = run_evaluate(capsys, checkpoint, "--data", cache, "--size", "2", "--markdown")
    assert code == 0 and out.startswith("| data | n | n_3d |") and "| prepared:cache | 2 | 2 |" in out


def test_a_set_without_3d_labels_reports_na(checkpoint, tmp_path, capsys):
    write_folder(tmp_path / "flat", n=3, with_xyz=False)
    out_json = tmp_path / "s.json"
    code, out, err = run_evaluate(capsys, checkpoint, "--data", tmp_path / "flat", "-o", out_json)
    assert code == 0, err
    s = json.loads(out_json.read_text())
    assert s["n"] == 3 and s["n_3d"] == 0 and all(s[k] is None for k in SCORES_3D) and s["uv_px"] is None
    assert math.isfinite(s["uv_px_all"])
    assert table_rows(out)["folder:flat"].count("n/a") == len(SCORES_3D) + 2  # + uv_px and the baseline
    assert "folder:flat: none of the 3 hands has 3D labels" in out
    assert_table_is_json(out, s["sets"])


def test_bad_data_gives_one_clear_error(checkpoint, tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "hands.json").write_text(json.dumps({"format": "handkin-hands", "samples": []}))
    (tmp_path / "other.json").write_text("{}")  # another dataset's annotation file without its KIND
    cases = {
        ("--data", f"nokind:{tmp_path}"): "unknown dataset kind 'nokind'; give KIND:PATH with KIND one of freihand",
        ("--data", f"rhd:{tmp_path / 'nope.json'}"): "nope.json does not exist",
        ("--data", str(tmp_path / "nope")): "nope does not exist",
        ("--data", str(tmp_path / "nothing")): "holds neither hands.json nor hands.npz",
        ("--data", str(tmp_path / "empty")): "hands.json: holds no samples",
        ("--data", str(tmp_path / "other.json")): "read as a folder dataset; give KIND:PATH for another kind: freihand",
        ("--data", f"prepared:{tmp_path / 'nothing'}"): "is not a prepared cache: .*manifest.json not found",
        ("--data", f"prepared:{tmp_path}", "--option", "split=x"): "unknown field\\(s\\) split for kind 'prepared'",
    }
    for args, message in cases.items():
        code, out, err = run_evaluate(capsys, checkpoint, *args)
        assert code == 2 and out == "", args
        assert err.startswith(f"handkin-train: error: --data {args[1]}: ") and err.count("\n") == 1, err
        assert re.search(message, err), (message, err)
    with pytest.raises(DatasetError, match="unknown dataset kind 'nokind'"):
        dataset_from_spec("nokind:somewhere")
