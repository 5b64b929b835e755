"""`fakearena.data.manifest`: round trip, content hash, union, and every validation error."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from fakearena.data.manifest import (
    Manifest,
    ManifestCard,
    read_manifest,
    union_manifests,
    validate_frame,
    write_manifest,
)
from fakearena.errors import ManifestError


def _frame(paths=("x/a.png", "x/b.png", "y/c.png"), **overrides) -> pd.DataFrame:
    n = len(paths)
    data = {
        "path": list(paths),
        "label": [0, 1, 0][:n],
        "split": ["train", "train", "test"][:n],
        "video_id": [f"set/v{i}" for i in range(n)],
        "frame": [0] * n,
        "identity": ["p0", "", "p2"][:n],
        "source": ["real", "gan/dcgan", "real"][:n],
        "box": ["1 2 3 4"] * n,  # an extra column is kept
    }
    data.update(overrides)
    return pd.DataFrame(data)


def _touch(root: Path, frame: pd.DataFrame) -> None:
    for rel in frame["path"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(rel.encode())


def test_round_trip_keeps_rows_card_and_extra_columns(tmp_path):
    frame = _frame()
    _touch(tmp_path / "imgs", frame)
    card = ManifestCard(
        name="demo",
        description="three rows",
        image_size=64,
        license="CC0",
        provenance={"command": "test"},
    )
    manifest = Manifest(frame=frame, card=card, root=tmp_path / "imgs")
    csv_path = write_manifest(manifest, tmp_path / "demo.csv")
    back = read_manifest(tmp_path / "demo.yaml", check_files=True)
    pd.testing.assert_frame_equal(back.frame, manifest.frame)
    assert back.card.description == "three rows" and back.card.provenance == {"command": "test"}
    assert back.card.root == "imgs"  # written relative to the card, so the folder can move
    assert back.root == (tmp_path / "imgs").resolve()
    assert back.csv_path == csv_path.resolve()
    assert list(back.frame.columns) == [*list(frame.columns[:7]), "sha256", "box"]


def test_sha256_is_the_hash_of_the_csv_bytes(tmp_path):
    manifest = Manifest(frame=_frame(), card=ManifestCard(name="h"), root=tmp_path)
    csv_path = write_manifest(manifest, tmp_path / "h.csv")
    on_disk = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert manifest.sha256 == on_disk == read_manifest(csv_path).sha256
    if shutil.which("sha256sum"):
        out = subprocess.run(["sha256sum", str(csv_path)], capture_output=True, text=True)
        assert out.stdout.split()[0] == manifest.sha256
    changed = Manifest(frame=_frame(label=[0, 1, 1]), card=ManifestCard(name="h"), root=tmp_path)
    assert changed.sha256 != manifest.sha256
    assert manifest.reference() == {
        "name": "h",
        "sha256": on_disk,
        "path": None,
        "rows": 3,
    }


def test_write_refuses_an_invalid_manifest_and_writes_nothing(tmp_path):
    bad = Manifest(frame=_frame(label=[0, 1, 5]), card=ManifestCard(name="bad"), root=tmp_path)
    with pytest.raises(ManifestError, match="label must be 0"):
        write_manifest(bad, tmp_path / "bad.csv")
    assert list(tmp_path.iterdir()) == []


def test_union_of_manifests_with_different_roots(tmp_path):
    first = Manifest(frame=_frame(), card=ManifestCard(name="one"), root=tmp_path / "a")
    second_frame = _frame(
        paths=("q.png", "r.png"),
        label=[1, 1],
        split=["val", "val"],
        video_id=["two/v0", "two/v1"],
        identity=["", ""],
        source=["gan/x", "gan/x"],
        box=["", ""],
    )
    second = Manifest(frame=second_frame, card=ManifestCard(name="two"), root=tmp_path / "b" / "c")
    both = union_manifests([first, second])
    assert both.root == tmp_path and both.name == "one+two" and len(both) == 5
    assert list(both.frame["path"]) == [
        "a/x/a.png",
        "a/x/b.png",
        "a/y/c.png",
        "b/c/q.png",
        "b/c/r.png",
    ]
    expected = [first.abspath(i) for i in range(3)] + [second.abspath(i) for i in range(2)]
    assert [both.abspath(i) for i in range(5)] == expected
    assert [ref["name"] for ref in both.card.provenance["union_of"]] == ["one", "two"]
    # The same file twice is refused.
    with pytest.raises(ManifestError, match="duplicate path"):
        union_manifests([first, first])
    with pytest.raises(ManifestError, match="cannot mix in-memory and on-disk"):
        union_manifests(
            [first, Manifest(frame=second_frame, card=ManifestCard(name="m"), root=None)]
        )


def test_select_by_split_label_and_source():
    manifest = Manifest(frame=_frame(), card=ManifestCard(name="s"), root=None)
    assert list(manifest.select(split="train").frame["path"]) == ["x/a.png", "x/b.png"]
    assert list(manifest.select(label=0).frame["path"]) == ["x/a.png", "y/c.png"]
    assert list(manifest.select(split=["train", "test"], source="real").frame.index) == [0, 1]
    assert manifest.summary()["rows"].sum() == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(label=[0, "x", 1]), "row(s) 2 (1 in all): label must be 0 (real) or 1 (fake)"),
        (dict(split=["train", "dev", "holdout"]), "row(s) 2, 3 (2 in all): split must be one of"),
        (dict(frame=[0, -1, 0]), "row(s) 2 (1 in all): frame must be an integer >= 0"),
        (dict(paths=("/abs/a.png", "x/b.png", "y/c.png")), "row(s) 1 (1 in all): path must be"),
        (dict(paths=("x/a.png", "../b.png", "y/c.png")), "row(s) 2 (1 in all): path must be"),
        (dict(paths=("x/a.png", "x\\b.png", "y/c.png")), "row(s) 2 (1 in all): path must be"),
        (dict(paths=("x/a.png", "x/../../b", "y/c.png")), "row(s) 2 (1 in all): path must be"),
        (dict(paths=("x/a.png", "x/b.png", "x/a.png")), "row(s) 3 (1 in all): duplicate path"),
        (dict(video_id=["v", "", "w"]), "row(s) 2 (1 in all): video_id is empty"),
        (dict(source=["real", "", "real"]), "row(s) 2 (1 in all): source is empty"),
        (dict(video_id=["v", "v", "w"]), "video_id(s) ['v'] have rows labelled both real and fake"),
    ],
)
def test_each_validation_error_names_the_rows(overrides, message):
    paths = overrides.pop("paths", ("x/a.png", "x/b.png", "y/c.png"))
    problems = validate_frame(_frame(paths=paths, **overrides))
    assert len(problems) == 1 and message in problems[0], problems


def test_missing_column_and_missing_files(tmp_path):
    frame = _frame().drop(columns=["split", "source"])
    assert validate_frame(frame) == [
        "missing column(s) ['split', 'source']; the header must contain ['path', 'label', "
        "'split', 'video_id', 'frame', 'identity', 'source'] (identity may be empty, sha256 is "
        "optional)"
    ]
    _touch(tmp_path, _frame(paths=("x/a.png", "x/b.png", "y/other.png")))
    problems = validate_frame(_frame(), root=tmp_path, check_files=True)
    assert len(problems) == 1 and problems[0].startswith("row(s) 3 (1 in all): file not found")
    assert validate_frame(_frame(), root=tmp_path) == []


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(ManifestError, match="file not found"):
        read_manifest(tmp_path / "none.csv")
    csv_path = tmp_path / "m.csv"
    _frame().to_csv(csv_path, index=False)
    (tmp_path / "m.yaml").write_text("name: m\ncolour: blue\n")
    with pytest.raises(ManifestError, match=r"unknown card key\(s\) \['colour'\]") as info:
        read_manifest(csv_path)
    assert str(tmp_path / "m.yaml") in str(info.value)
    (tmp_path / "m.yaml").write_text("root: .\n")
    with pytest.raises(ManifestError, match="the card has no 'name'"):
        read_manifest(csv_path)
    (tmp_path / "m.yaml").write_text("name: m\nroot: ../elsewhere\n")
    assert read_manifest(csv_path).root == (tmp_path.parent / "elsewhere").resolve()
    (tmp_path / "m.yaml").unlink()
    plain = read_manifest(csv_path)
    assert plain.name == "m" and plain.root == tmp_path.resolve()
    broken = tmp_path / "broken.csv"
    broken.write_text("path,label,split,video_id,frame,identity,source\n/a.png,3,x,v,0,,real\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(broken)
    text = str(info.value)
    assert text.startswith(f"Invalid manifest {broken}")
    for part in ("label must be 0", "split must be one of", "path must be relative"):
        assert part in text
