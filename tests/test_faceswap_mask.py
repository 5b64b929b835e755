"""The learned-mask face swap: mask head, masked loss, mask targets, colour transfers,
paste-back through the predicted mask, and a `fakearena train` -> `generate` round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from scipy.linalg import sqrtm
from skimage import color

from fakearena.data.datamodule import FaceDataModule
from fakearena.data.manifest import read_manifest, write_manifest
from fakearena.data.masks import mask_png, read_mask
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.errors import ConfigError
from fakearena.generation.blend import EllipseMask, blend_back, blend_options, mask_mode
from fakearena.generation.colour_transfer import linear_transfer, reinhard_transfer
from fakearena.generation.swapper import Swapper, swap_images, swap_images_with_masks
from fakearena.models.generators.faceswap_ae import FaceSwapAE
from fakearena.tasks.checkpoints import restore_task
from fakearena.tasks.faceswap import FaceSwapTask
from fakearena.tasks.faceswap_loss_weights import LossWeights
from fakearena.tasks.faceswap_losses import reconstruction_loss
from fakearena.tasks.faceswap_mask import MaskTargets, mask_loss
from test_faceswap import make_identity_manifest, train_tiny

from conftest import run_cli

SIZE = 64


def test_mask_head_outputs_rgb_and_a_mask_in_range():
    torch.manual_seed(0)
    net = FaceSwapAE(image_size=SIZE, n_decoders=2, width=8, norm="batch", mask=True).eval()
    images = torch.rand(3, 3, SIZE, SIZE)
    with torch.no_grad():
        latent = net.encode(images)
    with torch.no_grad():
        rgb, mask = net.decode_with_mask(latent, 1)
    assert rgb.shape == (3, 3, SIZE, SIZE) and mask.shape == (3, 1, SIZE, SIZE)
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1
    with torch.no_grad():
        assert torch.equal(net.decode(latent, 1), rgb)  # the RGB contract is unchanged
    plain = FaceSwapAE(image_size=32, n_decoders=2, width=8)
    assert plain.decode(plain.encode(torch.rand(1, 3, 32, 32)), 0).shape == (1, 3, 32, 32)
    with pytest.raises(ConfigError, match=r"generator\.mask=true"):
        plain.decode_with_mask(plain.encode(torch.rand(1, 3, 32, 32)), 0)
    # the mask adds exactly one output channel to each decoder's last convolution
    with_mask = FaceSwapAE(image_size=32, n_decoders=2, width=8, mask=True)
    extra = sum(p.numel() for p in with_mask.parameters()) - sum(
        p.numel() for p in plain.parameters()
    )
    last = plain.decoders[0][-2]
    assert extra == 2 * (last.in_channels * 25 + 1)


def test_masked_loss_equals_a_hand_computation():
    rng = np.random.default_rng(0)
    recon, target = rng.random((2, 3, 6, 5)), rng.random((2, 3, 6, 5))
    mask = rng.random((2, 1, 6, 5))
    weights = LossWeights(outside=0.1)(torch.tensor(target), mask=torch.tensor(mask))
    loss = reconstruction_loss(torch.tensor(recon), torch.tensor(target), "mse", weights=weights)
    total, norm = 0.0, 0.0
    for b in range(2):
        for y in range(6):
            for x in range(5):
                w = 0.1 + 0.9 * mask[b, 0, y, x]
                for c in range(3):
                    total += w * (recon[b, c, y, x] - target[b, c, y, x]) ** 2
                    norm += w
    assert float(loss) == pytest.approx(total / norm, rel=1e-9)
    p, t = rng.uniform(0.01, 0.99, (2, 1, 4, 4)), rng.random((2, 1, 4, 4))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert float(mask_loss(torch.tensor(p), torch.tensor(t))) == pytest.approx(expected, rel=1e-6)


def test_mask_targets_come_from_the_data_and_fall_back_to_the_ellipse():
    fallback = EllipseMask(center=(0.5, 0.5), axes=(0.3, 0.4), feather=0.2)
    targets = MaskTargets(fallback, view=lambda x: x[..., 2:10, 2:10])
    data_mask = torch.rand(2, 1, 12, 12)
    batch = {
        "image": torch.zeros(2, 3, 12, 12),
        "face_mask": data_mask,
        "has_face_mask": torch.tensor([True, False]),
    }
    out = targets(batch, 8)
    assert torch.equal(out[0], data_mask[0, :, 2:10, 2:10])
    assert torch.equal(out[1, 0], torch.from_numpy(fallback.render(8, 8)))
    assert (targets.rows_from_data, targets.rows_fallback, targets.source) == (1, 1, "mixed")
    targets(batch | {"has_face_mask": torch.tensor([False, False])}, 8)
    assert targets.data_fraction() == pytest.approx(1 / 4)


def test_synthetic_face_region_covers_what_a_true_swap_changes():
    renderer = SyntheticRenderer(64)
    inside = changed = 0
    for index in range(6):
        face = renderer.render_face(0, index).astype(int)
        truth = renderer.render_swap(0, index, 1).astype(int)
        region = renderer.render_face_region(0, index)
        differs = np.abs(face - truth).max(2) > 8
        changed += differs.sum()
        inside += (differs & (region > 0.5)).sum()
        assert region.min() == 0 and region.max() == 1
        assert (region > 0.5).mean() < 0.25  # the inner face, not the whole image
    assert inside / changed >= 0.9


def test_datamodule_serves_face_masks_from_the_renderer_or_a_face_mask_column(tmp_path: Path):
    synthetic = FaceDataModule(synthetic={"n_identities": 3, "per_identity": 4}, image_size=32)
    synthetic.request_training_targets(["face_mask"])
    sample = synthetic.dataset("train")[0]
    row = synthetic.dataset("train").row(0)
    expected = SyntheticRenderer(32).render_face_region_row(row)
    assert bool(sample["has_face_mask"])
    np.testing.assert_allclose(sample["face_mask"][0].numpy(), expected, atol=1e-6)
    csv = make_identity_manifest(tmp_path, people=2, per_person=3)
    manifest = read_manifest(csv)
    hull = np.zeros((32, 32), np.float32)
    hull[8:24, 10:22] = 1.0
    (tmp_path / "hull.png").write_bytes(mask_png(hull))
    manifest.frame["face_mask"] = ["hull.png"] + [""] * (len(manifest) - 1)
    write_manifest(manifest, csv)
    files = FaceDataModule(manifests=[str(csv)], image_size=32)
    files.request_training_targets(["face_mask"])
    train = files.dataset("train")
    assert bool(train[0]["has_face_mask"]) and not bool(train[1]["has_face_mask"])
    np.testing.assert_array_equal(train[0]["face_mask"][0].numpy(), hull)
    # a file manifest of the built-in synthetic faces gets the renderer's region
    synth = manifest.frame.assign(face_mask="", synth_seed=0, synth_identity=5, synth_index=7)
    rows = read_manifest(write_manifest(type(manifest)(synth, manifest.card, tmp_path), csv))
    dataset = FaceDataModule(manifests=[str(csv)], image_size=32).rows_dataset(rows)
    region = SyntheticRenderer(32).render_face_region(5, 7, seed=0)
    np.testing.assert_array_equal(dataset.load_face_mask(0, 32), region)


def _soft_mask(rng: np.random.Generator, size: int = 16) -> np.ndarray:
    mask = rng.random((size, size))
    mask[:4] = 0.0
    return mask


def test_rct_matches_reinhard_in_skimage_lab():
    rng = np.random.default_rng(1)
    face, target, mask = rng.random((16, 16, 3)), rng.random((16, 16, 3)), _soft_mask(rng)
    w = mask[..., None] / mask.sum()
    lab_face, lab_target = color.rgb2lab(face), color.rgb2lab(target)
    mean_f, mean_t = (lab_face * w).sum((0, 1)), (lab_target * w).sum((0, 1))
    std_f = np.sqrt((((lab_face - mean_f) ** 2) * w).sum((0, 1)))
    std_t = np.sqrt((((lab_target - mean_t) ** 2) * w).sum((0, 1)))
    moved = (lab_face - mean_f) * (std_t / std_f) + mean_t
    expected = color.lab2rgb(moved)  # skimage clips out-of-gamut values to [0, 1]
    ours = np.clip(reinhard_transfer(face, target, mask), 0, 1)
    np.testing.assert_allclose(ours, expected, atol=1e-6)


def test_lct_maps_the_masked_mean_and_covariance_onto_the_target():
    rng = np.random.default_rng(2)
    face = rng.random((16, 16, 3)) @ np.array([[0.6, 0.2, 0.1], [0.1, 0.5, 0.3], [0.0, 0.2, 0.7]])
    target, mask = rng.random((16, 16, 3)), _soft_mask(rng)
    w = (mask / mask.sum()).reshape(-1)
    pf, pt = face.reshape(-1, 3), target.reshape(-1, 3)
    mf, mt = w @ pf, w @ pt
    cf = ((pf - mf) * w[:, None]).T @ (pf - mf)
    ct = ((pt - mt) * w[:, None]).T @ (pt - mt)
    transform = np.real(sqrtm(ct)) @ np.linalg.inv(np.real(sqrtm(cf)))
    expected = ((pf - mf) @ transform.T + mt).reshape(face.shape)
    ours = linear_transfer(face, target, mask, eps=0.0)
    np.testing.assert_allclose(ours, expected, atol=1e-8)
    po = ours.reshape(-1, 3)
    np.testing.assert_allclose(w @ po, mt, atol=1e-10)
    np.testing.assert_allclose(((po - mt) * w[:, None]).T @ (po - mt), ct, atol=1e-10)


def test_blend_recipe_reads_the_mask_mode_and_the_new_colours():
    assert mask_mode({"mask": "predicted", "colour": "rct"}) == "predicted"
    assert blend_options({"mask": "predicted_both", "colour": "lct"})[1] == "lct"
    with pytest.raises(ConfigError, match="blend mask='hull'"):
        blend_options({"mask": "hull"})
    with pytest.raises(ConfigError, match=r"generator\.mask=true"):
        FaceSwapTask(net=FaceSwapAE(image_size=32, width=8), blend={"mask": "predicted"})
    source = np.full((8, 8, 3), 100, np.uint8)
    assert np.array_equal(blend_back(source, np.ones((8, 8, 3)), np.zeros((8, 8)), "rct"), source)


def _masked_task(mask_bias: float) -> FaceSwapTask:
    torch.manual_seed(0)
    net = FaceSwapAE(image_size=32, n_decoders=2, width=8, mask=True)
    for decoder in net.decoders:
        last = decoder[-2]
        with torch.no_grad():
            last.weight[3].zero_()
            last.bias[3] = mask_bias  # sigmoid: a mask of ~0 or ~1 everywhere in the box
    crop = {"center": [0.5, 0.5], "size": 0.5}
    task = FaceSwapTask(net=net, identities=["a", "b"], crop=crop, blend={"mask": "predicted"})
    return task.eval()


def test_paste_back_goes_through_the_predicted_mask():
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
    closed = Swapper(_masked_task(-100.0), {"mask": "predicted", "colour": "none"})
    for fake, image in zip(closed(images, 1), images):
        assert np.array_equal(fake, image)  # mask 0: the source, bit for bit
    assert max(float(m.max()) for m in closed.masks_used) < 1e-6
    task = _masked_task(100.0)
    opened = Swapper(task, {"mask": "predicted", "colour": "none"})
    fakes = opened(images, 1)
    faces = swap_images(task, images, 1)
    box = np.zeros((64, 64), bool)
    box[16:48, 16:48] = True  # the crop box: mask 1 inside, 0 outside
    for fake, image, face, mask in zip(fakes, images, faces, opened.masks_used):
        np.testing.assert_allclose(mask, box.astype(np.float32), atol=1e-6)
        assert np.array_equal(fake[~box], image[~box])
        expected = np.clip(np.round(face[box] * 255), 0, 255)
        assert np.abs(fake[box].astype(int) - expected).max() <= 1
    both = Swapper(task, {"mask": "predicted_both", "colour": "rct"})
    both(images, 1, 0)
    _, own = swap_images_with_masks(task, images, 1, source=0)
    np.testing.assert_allclose(both.masks_used[0], own[0])
    with pytest.raises(ValueError, match="source identity"):
        both(images, 1)


@pytest.fixture(scope="module")
def masked_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("faces64")
    faces = make_identity_manifest(root, size=SIZE)
    run_dir = tmp_path_factory.mktemp("run") / "masked"
    result = train_tiny("faceswap_masked", faces, run_dir, size=SIZE)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, faces


def test_masked_checkpoint_round_trips_through_fakearena_generate(
    masked_run: tuple[Path, Path], tmp_path: Path
):
    run_dir, faces = masked_run
    metrics = pd.read_json(run_dir / "results.json", typ="series")["metrics"]
    # these toy faces carry no face_mask: every row fell back to the ellipse, and says so
    assert metrics["train/mask_target_from_data"]["value"] == 0.0
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    out = tmp_path / "fakes"
    result = run_cli(
        "generate",
        f"ckpt={ckpt}",
        "data=manifest",
        f"data.manifests=[{faces}]",
        f"data.image_size={SIZE}",
        "split=train",
        f"out={out}",
        "name=masked",
        f"hydra.run.dir={tmp_path / 'gen'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    fakes = read_manifest(out / "masked.csv", check_files=True)
    assert fakes.card.provenance["blend"]["mask"] == "predicted"
    assert fakes.card.provenance["blend"]["colour"] == "skin"
    task = restore_task(ckpt, "faceswap").eval()
    assert task.net.predicts_mask and task.net.image_size == SIZE
    source = read_manifest(faces)
    by_path = source.frame.set_index("path")
    for row in fakes.frame.head(6).itertuples():
        real = np.array(Image.open(source.root / row.source_path))
        target = 1 if by_path.loc[row.source_path].identity == "p0" else 0
        _, predicted = swap_images_with_masks(task, [real], target)
        written = read_mask(fakes.root / row.mask)
        np.testing.assert_allclose(written, predicted[0], atol=0.6 / 255)
        fake = np.asarray(Image.open(fakes.root / row.path))
        outside = np.round(predicted[0] * 255) == 0
        assert outside.any() and np.array_equal(fake[outside], real[outside])
