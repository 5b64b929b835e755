"""Video decoding: counts, even sampling, exact frames, clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest

from _media import write_video
from fakearena.errors import DataError
from fakearena.faces.video import probe_video, read_frames, sample_frame_indices


def level_frames(n: int) -> list[np.ndarray]:
    """Frame i is a flat grey of level 10 * i + 20, so a decoded frame tells its index."""
    return [np.full((48, 64, 3), 10 * i + 20, dtype=np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def levels_video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "levels.mp4", level_frames(20))


def test_probe_counts_frames_and_duration(levels_video):
    info = probe_video(levels_video)
    assert info.frame_count == 20
    assert info.fps == pytest.approx(10.0)
    assert info.duration == pytest.approx(2.0, abs=0.15)
    assert (info.width, info.height) == (64, 48)


def test_sampling_spreads_over_the_whole_video():
    assert sample_frame_indices(100, 4) == [12, 37, 62, 87]  # segment centres
    assert sample_frame_indices(10, 32) == list(range(10))
    assert sample_frame_indices(10, 0) == list(range(10))
    assert sample_frame_indices(10, 4, every=3) == [0, 3, 6, 9]
    assert sample_frame_indices(0, 4) == []
    indices = sample_frame_indices(309, 32)
    assert len(indices) == 32 and indices[0] < 10 and indices[-1] > 299


def test_read_frames_returns_exactly_the_wanted_frames(levels_video):
    wanted = [1, 7, 8, 19]
    frames = dict(read_frames(levels_video, wanted))
    assert sorted(frames) == wanted
    for index, frame in frames.items():
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert abs(float(frame.mean()) - (10 * index + 20)) < 3  # the frame's own level
    everything = dict(read_frames(levels_video))
    assert len(everything) == 20
    assert all(np.array_equal(frames[i], everything[i]) for i in wanted)


def test_indices_past_the_end_are_not_yielded(levels_video):
    assert [i for i, _ in read_frames(levels_video, [18, 19, 25])] == [18, 19]


def test_bad_files_raise_clear_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match=r"junk\.mp4"):
        list(read_frames(junk, [0]))
    with pytest.raises(DataError, match="not found"):
        probe_video(tmp_path / "missing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.mp4"):
        probe_video(empty)
