"""benchmarks/detector_zoo.py: the zoo's seeded run -> summary and docs table, on a run folder
built by hand (mean and std against numpy, the ablation comparison against the paired
bootstrap called directly)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from benchmarks.detector_zoo import main, render_table, summarise

from fakearena.metrics.significance import paired_bootstrap_auc

SEEDS = (0, 1, 2)


def _write_run(root: Path, name: str, seed: int, probs: np.ndarray, frame: pd.DataFrame) -> None:
    from sklearn.metrics import roc_auc_score

    folder = root / "detectors" / name / f"seed{seed}"
    (folder / "test_data" / "blend").mkdir(parents=True)
    frame.assign(prob=probs).to_csv(folder / "test_data" / "blend" / "predictions.csv", index=False)
    auc = float(roc_auc_score(frame["label"], probs))
    record = {
        "schema_version": 1,
        "task": "detect",
        "seed": seed,
        "test_data": [{"name": "blend"}],
        "artifacts": {"predictions": {"blend": "test_data/blend/predictions.csv"}},
        "metrics": {"test/blend/auc": {"value": auc, "ci_unit": "identity", "n_units": 40}},
        "parameters": {"trainable": 1000, "reference": "test_resnet", "ratio": 1.0},
    }
    (folder / "results.json").write_text(json.dumps(record))


@pytest.fixture()
def zoo_run(tmp_path: Path) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    frame = pd.DataFrame(
        {
            "path": [f"img{i}.png" for i in range(400)],
            "label": labels,
            "video_id": [f"v{i}" for i in range(400)],
            "identity": [f"p{i % 20}" for i in range(400)],
        }
    )
    probs = {}
    for name, signal in (("sbi", 2.0), ("sbi_ablation", 0.3)):
        for seed in SEEDS:
            p = 1 / (1 + np.exp(-(signal * labels + rng.normal(0, 1, 400))))
            probs[name, seed] = p
            _write_run(tmp_path, name, seed, p, frame)
    (tmp_path / "testsets" / "blend").mkdir(parents=True)
    (tmp_path / "testsets" / "blend.json").write_text(
        json.dumps({"rows": {"real": 200, "fake": 200}, "identities": {"real": 20, "fake": 20}})
    )
    (tmp_path / "testsets" / "blend" / "results.json").write_text(
        json.dumps({"metrics": {"testset/confound_auc": {"value": 0.5, "flagged": False}}})
    )
    return tmp_path, {"probs": probs, "frame": frame}


def test_summary_means_stds_and_the_ablation_test(zoo_run):
    from sklearn.metrics import roc_auc_score

    run, made = zoo_run
    summary = summarise(run)
    labels = made["frame"]["label"].to_numpy()
    for name in ("sbi", "sbi_ablation"):
        aucs = [roc_auc_score(labels, made["probs"][name, s]) for s in SEEDS]
        entry = summary["detectors"][name]["test_sets"]["blend"]
        assert entry["aucs"] == pytest.approx(aucs, abs=1e-4)
        assert entry["mean"] == pytest.approx(np.mean(aucs), abs=1e-4)
        assert entry["std"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-4)
    direct, _ = paired_bootstrap_auc(
        np.stack([made["probs"]["sbi", s] for s in SEEDS]),
        np.stack([made["probs"]["sbi_ablation", s] for s in SEEDS]),
        labels,
        made["frame"]["video_id"].to_numpy(),
        made["frame"]["identity"].to_numpy(),
        n_bootstrap=1000,
        seed=0,
    )
    found = summary["ablations"]["sbi"]["test_sets"]["blend"]
    assert summary["ablations"]["sbi"]["against"] == "sbi_ablation"
    assert found["delta"] == pytest.approx(direct.delta, abs=1e-4)
    assert found["verdict"] == direct.verdict == "A"
    table = render_table(summary)
    mean, std = (summary["detectors"]["sbi"]["test_sets"]["blend"][k] for k in ("mean", "std"))
    assert f"| `sbi` | 1,000 | {mean:.3f} ± {std:.3f} ▲ |" in table


def test_a_run_without_seeds_is_refused_with_the_command(tmp_path):
    (tmp_path / "detectors" / "resnet").mkdir(parents=True)
    with pytest.raises(SystemExit, match="seeds=3"):
        summarise(tmp_path)


def test_the_documented_command_writes_the_summary_and_table(zoo_run, tmp_path, capsys):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "detector_zoo.md").read_text()
    assert "python -m benchmarks.detector_zoo outputs/arena/zoo" in doc
    run, _ = zoo_run
    main([str(run), "--out", str(tmp_path / "out")])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    table = (tmp_path / "out" / "table.md").read_text()
    assert table.strip() == render_table(summary) and table.strip() in capsys.readouterr().out


def test_every_arm_of_the_documented_zoo_command_composes_as_a_training_run():
    """The arena hands each `+detectors.<name>=[...]` list to `fakearena train task=detect`:
    every item must be a key of that config (a wrong key fails the stage after the generators
    have trained, half an hour in)."""
    import re
    import shlex

    from fakearena.config import compose

    doc = (Path(__file__).resolve().parents[1] / "docs" / "detector_zoo.md").read_text()
    block = doc.split("```bash", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    arms = {}
    for token in shlex.split(block):
        found = re.fullmatch(r"\+detectors\.(\w+)=\[(.*)\]", token)
        if found:
            arms[found[1]] = [item.strip().strip('"') for item in found[2].split('","')]
    assert len(arms) == 8 and "sbi_ablation" in arms
    for name, items in arms.items():
        cfg = compose("train", ["task=detect", "data=synthetic", *items])
        assert cfg.trainer.max_epochs == 12, name
    ablation = compose("train", ["task=detect", "data=synthetic", *arms["sbi_ablation"]])
    assert ablation.data.train_transform.p == 0
