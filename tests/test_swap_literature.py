"""The literature's face-swap metrics on real faces: an identity swap scores retrieval 1.0 and no
pose or expression error; a swap to another person is retrieved as that person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakearena.generation.swap_literature import SwapSample, literature_metrics

PEOPLE = ("angelina_jolie", "kate_siegel", "paul_rudd", "shea_whigham")


def photo(fixtures_dir: Path, person: str) -> np.ndarray:
    with Image.open(fixtures_dir / "faces" / "photos" / person / "1.jpg") as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def gallery(fixtures_dir: Path) -> dict:
    return {p: [(photo(fixtures_dir, p), None)] for p in PEOPLE}


@pytest.mark.real_data
def test_an_identity_swap_is_retrieved_with_no_pose_or_expression_error(fixtures_dir, gallery):
    samples = [
        SwapSample(fake=image, target_image=image, donor=person, target=person)
        for person, [(image, _)] in gallery.items()
    ]
    metrics = literature_metrics(samples, gallery, "fakes")
    assert metrics["fakes/id_top1"]["value"] == 1.0 and metrics["fakes/id_top1"]["n"] == 4
    assert metrics["fakes/id_top1"]["chance"] == 0.25
    assert metrics["fakes/id_similarity"]["value"] > 0.99  # each face is its own centroid
    assert metrics["fakes/pose_error"]["value"] < 0.5  # degrees: the same face, refitted
    assert metrics["fakes/expression_error"]["value"] < 0.01


@pytest.mark.real_data
def test_retrieval_finds_the_face_shown_not_the_name_given(fixtures_dir, gallery):
    """A swap that shows paul_rudd is retrieved when paul_rudd is its donor and missed when
    the donor it should carry is kate_siegel; its similarity follows the face shown."""
    paul = gallery["paul_rudd"][0][0]
    carried = SwapSample(fake=paul, target_image=paul, donor="paul_rudd", target="kate_siegel")
    missed = SwapSample(fake=paul, target_image=paul, donor="kate_siegel", target="paul_rudd")
    good = literature_metrics([carried], gallery, "fakes")
    bad = literature_metrics([missed], gallery, "fakes")
    assert good["fakes/id_top1"]["value"] == 1.0 and bad["fakes/id_top1"]["value"] == 0.0
    assert good["fakes/id_similarity"]["value"] > good["fakes/id_similarity_target"]["value"]
    assert bad["fakes/id_similarity"]["value"] < bad["fakes/id_similarity_target"]["value"]
