"""`fakearena data synth|validate|verify|build`, in-process and through the console entry."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakearena.data import cli
from fakearena.errors import ConfigError

HEADER = "path,label,split,video_id,frame,identity,source,sha256"
SRC = Path(__file__).resolve().parents[1] / "src"


def _dataset(folder: Path) -> Path:
    """Four small PNGs and a manifest with their sha256, written without fakearena's help."""
    rows = []
    rng = np.random.default_rng(0)
    for i, (name, label, split) in enumerate(
        [
            ("a/r0.png", 0, "train"),
            ("a/f0.png", 1, "train"),
            ("b/r1.png", 0, "val"),
            ("b/f1.png", 1, "test"),
        ]
    ):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        source = "real" if label == 0 else "gan/test"
        rows.append(f"{name},{label},{split},v{i},0,p{i},{source},{digest}")
    csv_path = folder / "set.csv"
    csv_path.write_text("\n".join([HEADER, *rows]) + "\n")
    return csv_path


def _edit(csv_path: Path, row: int, column: str, value: str) -> None:
    lines = csv_path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    csv_path.write_text("\n".join(lines) + "\n")


def test_validate_prints_rows_per_split_label_source(tmp_path, capsys):
    csv_path = _dataset(tmp_path)
    assert cli.main(["validate", str(csv_path), "check_files=true"]) == 0
    out = capsys.readouterr().out
    assert "rows      4  (all files present)" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["train", "0", "(real)", "real", "1"] in lines
    assert ["train", "1", "(fake)", "gan/test", "1"] in lines
    assert ["test", "1", "(fake)", "gan/test", "1"] in lines
    assert hashlib.sha256(csv_path.read_bytes()).hexdigest() in out
    # Valid, but the val and test splits are single-class: said as notes.
    assert "note: the val split has real rows only" in out
    assert "note: the test split has fake rows only" in out


@pytest.mark.parametrize(
    ("row", "column", "value", "message"),
    [
        (2, "label", "2", "row(s) 2 (1 in all): label must be 0 (real) or 1 (fake)"),
        (3, "split", "training", "row(s) 3 (1 in all): split must be one of"),
        (1, "path", "/etc/passwd", "row(s) 1 (1 in all): path must be relative"),
        (4, "path", "../outside.png", "row(s) 4 (1 in all): path must be relative"),
        (2, "path", "a/r0.png", "row(s) 2 (1 in all): duplicate path"),
    ],
)
def test_validate_reports_each_broken_row(tmp_path, capsys, row, column, value, message):
    csv_path = _dataset(tmp_path)
    _edit(csv_path, row, column, value)
    assert cli.main(["validate", str(csv_path)]) == 1
    err = capsys.readouterr().err
    assert f"Invalid manifest {csv_path}" in err
    assert message in err


def test_validate_reports_a_missing_column(tmp_path, capsys):
    csv_path = _dataset(tmp_path)
    lines = [
        ",".join(line.split(",")[:6] + line.split(",")[7:])
        for line in csv_path.read_text().splitlines()
    ]
    csv_path.write_text("\n".join(lines) + "\n")
    assert cli.main(["validate", str(csv_path)]) == 1
    assert "missing column(s) ['source']" in capsys.readouterr().err


def test_validate_checks_files_only_when_asked(tmp_path, capsys):
    csv_path = _dataset(tmp_path)
    (tmp_path / "b" / "r1.png").unlink()
    assert cli.main(["validate", str(csv_path)]) == 0
    capsys.readouterr()
    assert cli.main(["validate", str(csv_path), "check_files=true"]) == 1
    err = capsys.readouterr().err
    assert "row(s) 3 (1 in all): file not found under root" in err


def test_validate_missing_manifest_and_usage_errors(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "nope.csv")]) == 1
    assert "file not found" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="needs path=PATH"):
        cli.main(["validate"])
    with pytest.raises(ConfigError, match="takes key=value arguments, not '--check-files'"):
        cli.main(["validate", "x.csv", "--check-files"])
    assert cli.main(["validate", "--help"]) == 0
    assert "check_files=false" in capsys.readouterr().out


def test_verify_passes_then_finds_a_changed_and_a_missing_file(tmp_path, capsys):
    csv_path = _dataset(tmp_path)
    assert cli.main(["verify", str(csv_path)]) == 0
    assert "4 of 4 files match their sha256" in capsys.readouterr().out
    with open(tmp_path / "a" / "f0.png", "ab") as fh:
        fh.write(b"\0")
    (tmp_path / "b" / "f1.png").unlink()
    assert cli.main(["verify", str(csv_path)]) == 1
    err = capsys.readouterr().err
    assert "2 of 4 files match their sha256; 1 mismatched, 1 missing" in err
    assert "mismatch: row 2 (a/f0.png): content changed" in err
    assert "missing: row 4 (b/f1.png): file not found" in err


def test_verify_rows_without_a_hash(tmp_path, capsys):
    csv_path = _dataset(tmp_path)
    _edit(csv_path, 3, "sha256", "")
    assert cli.main(["verify", str(csv_path)]) == 1
    err = capsys.readouterr().err
    assert "1 without a hash" in err and "unhashed: row 3 (b/r1.png)" in err
    assert cli.main(["verify", str(csv_path), "allow_unhashed=true"]) == 0


def test_verify_fills_the_hashes_a_builder_left_empty(tmp_path, capsys):
    from fakearena.data.builders.cli import main as build_main
    from fakearena.data.manifest import read_manifest

    source = tmp_path / "set"
    for name in ("real/a.mp4", "real/b.jpg", "fake/c.mp4"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(name.encode())
    assert build_main(["folder", f"root={source}", f"out={tmp_path / 'built'}"]) == 0
    videos = tmp_path / "built" / "videos.csv"
    card = videos.with_suffix(".yaml").read_bytes()
    capsys.readouterr()
    assert cli.main(["verify", str(videos)]) == 1  # what a builder writes has no hashes
    err = capsys.readouterr().err
    assert "3 without a hash" in err and f"fakearena data verify {videos} fill=true" in err
    (source / "real" / "b.jpg").unlink()
    assert cli.main(["verify", str(videos), "fill=true"]) == 1  # the missing file is named
    err = capsys.readouterr().err
    assert "2 hashed and written (fill=true)" in err and "missing: row 2 (real/b.jpg)" in err
    frame = read_manifest(videos).frame.set_index("path")
    assert frame.loc["real/a.mp4", "sha256"] == hashlib.sha256(b"real/a.mp4").hexdigest()
    assert frame.loc["real/b.jpg", "sha256"] == ""
    assert videos.with_suffix(".yaml").read_bytes() == card  # the card is left as it was
    assert not [p for p in videos.parent.iterdir() if p.name.endswith(".tmp")]
    (source / "real" / "b.jpg").write_bytes(b"real/b.jpg")
    assert cli.main(["verify", str(videos), "fill=true"]) == 0
    assert cli.main(["verify", str(videos)]) == 0
    assert "3 of 3 files match their sha256" in capsys.readouterr().out


def test_synth_writes_a_valid_dataset(tmp_path, capsys):
    out = tmp_path / "synth"
    code = cli.main(
        [
            "synth",
            f"out={out}",
            "n_identities=3",
            "per_identity=4",
            "name=mini",
            "size=32",
            "seed=2",
        ]
    )
    assert code == 0
    stdout = capsys.readouterr().out
    assert f"wrote 12 images and the manifest {out / 'mini.csv'}" in stdout
    images = [p for p in out.rglob("*.png") if not p.name.endswith(".mask.png")]
    assert len(images) == 12 and Image.open(images[0]).size == (32, 32)
    assert len(list(out.rglob("*.mask.png"))) == 6  # one blend mask beside each fake
    assert cli.main(["verify", str(out / "mini.yaml")]) == 0


def test_synth_takes_people_per_split_and_donor_groups(tmp_path):
    out = tmp_path / "synth"
    args = ["synth", f"out={out}", "identities={train: 3, val: 1, test: 4}", "per_identity=4"]
    # 0 and 2 are train people with seed 0 (identity_splits(8, 0, counts)), 5 is the third
    assert cli.main([*args, "size=16", "donor_groups=[[0,2]]"]) == 0
    from fakearena.data.manifest import read_manifest

    frame = read_manifest(out / "synthetic.csv").frame
    assert frame.groupby("split")["identity"].nunique().to_dict() == {
        "train": 3,
        "val": 1,
        "test": 4,
    }
    group = frame[frame["synth_identity"].astype(int).isin([0, 2]) & (frame["label"] == 1)]
    assert set(group["synth_donor"].astype(int)) == {0, 2}
    fakes_of_5 = frame[(frame["synth_identity"].astype(int) == 5) & (frame["label"] == 1)]
    assert not set(fakes_of_5["synth_donor"].astype(int)) & {0, 2}
    with pytest.raises(ConfigError, match="add up to 8, not n_identities=9"):
        cli.main([*args, "n_identities=9"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["n_identities=3"], "needs out=OUT"),
        (["out=x", "n_identities=three"], "n_identities must be an integer, got 'three'"),
        (["out=x", "fake_fraction=half"], "fake_fraction must be a number"),
        (["out=x", "colour=red"], "has no argument 'colour'"),
        (["out=x", "per_identty=3"], "did you mean per_identity"),
        (["out=x", "n_identities=2"], "n_identities >= 3"),
    ],
)
def test_synth_bad_options_are_config_errors(tmp_path, args, message):
    with pytest.raises(ConfigError, match=message):
        cli.main(["synth", *args])


def test_unknown_missing_and_help_subcommands(capsys):
    with pytest.raises(ConfigError, match=r"no subcommand 'frobnicate'.*synth, validate, verify"):
        cli.main(["frobnicate"])
    assert cli.main([]) == 2
    assert "usage: fakearena data <subcommand>" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_build_is_handed_to_the_builders_cli(monkeypatch):
    seen = []
    module = types.ModuleType("fakearena.data.builders.cli")
    module.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "fakearena.data.builders.cli", module)
    assert cli.main(["build", "ffpp", "root=/data"]) == 7
    assert seen == [["ffpp", "root=/data"]]


def _fakearena(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "fakearena.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_console_entry_validate_and_synth(tmp_path):
    csv_path = _dataset(tmp_path)
    _edit(csv_path, 2, "split", "dev")
    done = _fakearena("data", "validate", str(csv_path), cwd=tmp_path)
    assert done.returncode == 1
    assert "split must be one of ['train', 'val', 'test']" in done.stderr
    assert "Traceback" not in done.stderr
    done = _fakearena("data", "synth", "out=s", "n_identities=3", "per_identity=2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s" / "synthetic.csv").is_file()
    assert "train  0 (real)  real" in done.stdout
