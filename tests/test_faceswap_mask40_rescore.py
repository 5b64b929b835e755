"""benchmarks.faceswap_mask40 --rescore-ids: only the ID scores of the points whose fake sets
are in the work folder change; every other number and point is kept, and a work folder
without any fake set is a clear error that leaves the results file as it was."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from benchmarks import faceswap_mask40
from benchmarks.faceswap_mask40 import NAME, fake_set_of, rescore_ids
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
RECORD = json.loads((ROOT / "benchmarks/results/faceswap_mask40.json").read_text())


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / f"{NAME}.json").write_text(json.dumps(RECORD))
    return folder


def fake_id_scores(fakes_csv: Path, seed: int, cache: Path) -> dict:
    """A stand-in for the identity model: a score that tells the point and the seed apart."""
    return {"id_top1": 0.5 + seed / 1000, "id_top5": 0.9, "id_rows": len(fakes_csv.parts)}


def test_rescore_replaces_only_the_id_scores_of_points_with_a_fake_set(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    work = tmp_path / "work"
    chosen = RECORD["points"][1]
    fakes_csv = fake_set_of(work, chosen["recipe"], chosen["epochs"])
    fakes_csv.parent.mkdir(parents=True)
    fakes_csv.write_text("path,label\n")
    references = []

    def reference(work_dir: Path, csv: Path) -> dict:
        references.append(csv)
        return {
            "same_rows": RECORD["blend_same_rows"],
            "arena_blend_test": RECORD["arena_blend_test"],
        }

    monkeypatch.setattr(faceswap_mask40, "id_scores", fake_id_scores)
    monkeypatch.setattr(faceswap_mask40, "blend_reference", reference)
    written = rescore_ids(OmegaConf.create({"seed": 7}), work, results)

    after = json.loads(written.read_text())
    assert references == [fakes_csv]  # the reference comes from a fake set that exists
    key = (chosen["recipe"], chosen["epochs"])
    before = {(p["recipe"], p["epochs"]): p for p in RECORD["points"]}
    assert len(after["points"]) == len(before)
    for point in after["points"]:
        old = before[(point["recipe"], point["epochs"])]
        if (point["recipe"], point["epochs"]) == key:
            expected = copy.deepcopy(old)
            expected.update(fake_id_scores(fakes_csv, 7, work))
            assert point == expected
        else:
            assert point == old
    assert after["blend_same_rows"] == RECORD["blend_same_rows"]


def test_rescore_without_any_fake_set_names_the_folder_and_keeps_the_file(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(faceswap_mask40, "id_scores", fake_id_scores)
    before = (results / f"{NAME}.json").read_text()
    with pytest.raises(FileNotFoundError, match="give --work the folder the points ran in"):
        rescore_ids(OmegaConf.create({"seed": 0}), tmp_path / "empty", results)
    assert (results / f"{NAME}.json").read_text() == before
