"""task=faceswap's identity terms: gradient reversal, the frozen swap classifier, the loss
values against a hand-computed cross entropy, config errors, checkpoints old and new."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fakearena.errors import ConfigError
from fakearena.generation.blend import EllipseMask
from fakearena.models.generators.faceswap_ae import FaceSwapAE
from fakearena.models.generators.seed_conv_ae import SeedConvAE
from fakearena.results import read_results
from fakearena.tasks.checkpoints import restore_task
from fakearena.tasks.faceswap import FaceSwapTask
from fakearena.tasks.faceswap_identity import (
    IdentityTerms,
    donors_in_batch,
    gaussian_taps,
    identity_terms,
    low_pass,
    reverse_gradient,
)
from test_faceswap import SIZE, make_identity_manifest, train_tiny

FACE = EllipseMask(center=(0.5, 0.5), axes=(0.48, 0.58), feather=0.3)


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Mean -log softmax(logits)[target], in float64 numpy."""
    z = logits.detach().double().numpy()
    z = z - z.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-log_p[np.arange(len(z)), target.numpy()].mean())


def _terms(
    adversary: float = 0.0,
    swap: float = 0.0,
    people: int = 4,
    blur: float = 0.0,
    fake_class: bool = False,
) -> IdentityTerms:
    mask = torch.from_numpy(FACE.render(16, 16)).float()[None, None]
    return IdentityTerms(
        latent_shape=(6, 4, 4),
        face_size=16,
        n_people=people,
        face_mask=mask,
        latent_adversary_weight=adversary,
        swap_identity_weight=swap,
        swap_identity_blur=blur,
        swap_identity_fake_class=fake_class,
    )


def test_reverse_gradient_is_the_identity_forward_and_minus_scale_backward():
    torch.manual_seed(0)
    x = torch.randn(5, 3, requires_grad=True)
    weights = torch.randn(5, 3)

    def f(v: torch.Tensor) -> torch.Tensor:
        return (torch.sin(v) * weights).sum()

    (plain,) = torch.autograd.grad(f(x), x)
    y = reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    (reversed_,) = torch.autograd.grad(f(y), x)
    torch.testing.assert_close(reversed_, -0.3 * plain)
    torch.testing.assert_close(reversed_, -0.3 * torch.cos(x.detach()) * weights)


def test_the_adversary_learns_to_name_while_the_encoder_gets_the_reversed_scaled_gradient():
    torch.manual_seed(0)
    encoder = nn.Linear(8, 6 * 16)
    inputs, people = torch.randn(10, 8), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    terms = _terms(adversary=0.25)
    latent = encoder(inputs).view(10, 6, 4, 4)
    total, logged = terms.losses(latent, people, torch.zeros(10, 3, 16, 16), None, None)
    logits = terms.adversary(latent.detach())
    assert total.item() == pytest.approx(_cross_entropy(logits, people), abs=1e-5)
    assert logged["latent_id_ce"].item() == pytest.approx(total.item())
    total.backward()
    # independent: the plain cross entropy's gradients, without any reversal
    reference_encoder, reference_adversary = nn.Linear(8, 6 * 16), _terms(adversary=0.25)
    reference_encoder.load_state_dict(encoder.state_dict())
    reference_adversary.load_state_dict(terms.state_dict())
    plain = F.cross_entropy(
        reference_adversary.adversary(reference_encoder(inputs).view(10, 6, 4, 4)), people
    )
    plain.backward()
    for mine, theirs in zip(terms.adversary.parameters(), reference_adversary.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad)  # the adversary minimises
    torch.testing.assert_close(encoder.weight.grad, -0.25 * reference_encoder.weight.grad)


def test_donors_are_other_people_of_the_batch_and_one_person_is_an_error():
    people = torch.tensor([3, 3, 7, 7, 9, 9, 12, 12])
    seen = set()
    for seed in range(20):
        donors = donors_in_batch(people, torch.Generator().manual_seed(seed))
        assert (donors != people).all() and set(donors.tolist()) <= {3, 7, 9, 12}
        # one shift for the batch: the same person always gets the same donor
        assert all(len(set(donors[people == p].tolist())) == 1 for p in (3, 7, 9, 12))
        seen.add(tuple(donors.tolist()))
    assert len(seen) == 3  # the three shifts of four people
    with pytest.raises(ConfigError, match=r"raise data\.people_per_batch to 2 or more"):
        donors_in_batch(torch.tensor([5, 5, 5]), torch.Generator().manual_seed(0))


def _decoders(people: int) -> nn.ModuleList:
    torch.manual_seed(1)
    return nn.ModuleList(
        nn.Sequential(nn.Flatten(), nn.Linear(96, 3 * 16 * 16), nn.Sigmoid()) for _ in range(people)
    )


def test_the_swap_term_trains_the_generator_and_never_the_classifier():
    terms, decoders = _terms(swap=0.7), _decoders(4)
    torch.manual_seed(2)
    latent = torch.randn(8, 6, 4, 4, requires_grad=True)
    people = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    faces = torch.rand(8, 3, 16, 16)

    def decode(rows: torch.Tensor, person: int) -> torch.Tensor:
        return decoders[person](rows).view(-1, 3, 16, 16)

    total, logged = terms.losses(latent, people, faces, decode, torch.Generator().manual_seed(5))
    donors = donors_in_batch(people, torch.Generator().manual_seed(5))  # the same draw
    swaps = torch.stack([decode(latent[i : i + 1], int(donors[i]))[0] for i in range(8)])
    mask = torch.from_numpy(FACE.render(16, 16)).float()
    real_ce = _cross_entropy(terms.classifier(faces * mask), people)
    swap_ce = _cross_entropy(terms.classifier(swaps * mask), donors)
    assert logged["id_classifier_ce"].item() == pytest.approx(real_ce, abs=1e-5)
    assert logged["swap_id_ce"].item() == pytest.approx(swap_ce, abs=1e-5)
    assert total.item() == pytest.approx(real_ce + 0.7 * swap_ce, abs=1e-5)
    total.backward()
    # the classifier's gradient is that of the real faces' term alone
    reference = _terms(swap=0.7)
    reference.load_state_dict(terms.state_dict())
    F.cross_entropy(reference.classifier(faces * mask), people).backward()
    for mine, theirs in zip(terms.classifier.parameters(), reference.classifier.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad)
    # the swap term reaches the donors' decoders and the latent
    for donor in donors.unique().tolist():
        assert decoders[donor][1].weight.grad.abs().sum() > 0
    assert latent.grad.abs().sum() > 0


def test_the_swap_term_alone_moves_swaps_towards_being_named_as_the_donor():
    terms, decoders = _terms(swap=1.0), _decoders(4)
    torch.manual_seed(3)
    latent, faces = torch.randn(8, 6, 4, 4), torch.rand(8, 3, 16, 16)
    people = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    optimizer = torch.optim.Adam(decoders.parameters(), lr=3e-2)  # the generator only
    swap_ce, named = [], []
    for _ in range(60):
        total, logged = terms.losses(
            latent,
            people,
            faces,
            lambda rows, person: decoders[person](rows).view(-1, 3, 16, 16),
            torch.Generator().manual_seed(0),
        )
        swap_ce.append(logged["swap_id_ce"].item())
        named.append(logged["swap_id_top1"].item())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    # an untrained classifier's logits are nearly flat: the swaps' cross entropy cannot fall
    # far, but every swap ends up named as its donor
    assert swap_ce[-1] < swap_ce[0] - 0.1 and named[0] < 0.5 and named[-1] == 1.0


def test_with_a_fake_class_the_classifier_learns_swaps_as_swaps_and_the_generator_the_donor():
    terms, decoders = _terms(swap=0.3, fake_class=True), _decoders(4)
    assert terms.classifier[-1].out_features == 5  # 4 people and "a swap"
    torch.manual_seed(2)
    latent = torch.randn(8, 6, 4, 4, requires_grad=True)
    people, faces = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]), torch.rand(8, 3, 16, 16)

    def decode(rows: torch.Tensor, person: int) -> torch.Tensor:
        return decoders[person](rows).view(-1, 3, 16, 16)

    total, logged = terms.losses(latent, people, faces, decode, torch.Generator().manual_seed(5))
    donors = donors_in_batch(people, torch.Generator().manual_seed(5))
    swaps = torch.stack([decode(latent[i : i + 1], int(donors[i]))[0] for i in range(8)])
    mask = torch.from_numpy(FACE.render(16, 16)).float()
    real_ce = _cross_entropy(terms.classifier(faces * mask), people)
    swap_ce = _cross_entropy(terms.classifier(swaps * mask), donors)
    fake_ce = _cross_entropy(terms.classifier(swaps * mask), torch.full((8,), 4))
    assert logged["swap_fake_ce"].item() == pytest.approx(fake_ce, abs=1e-5)
    assert total.item() == pytest.approx(real_ce + 0.3 * swap_ce + fake_ce, abs=1e-5)
    total.backward()
    # the classifier learns real faces' people and the swaps' own class, not their donors
    reference = _terms(swap=0.3, fake_class=True)
    reference.load_state_dict(terms.state_dict())
    fixed = swaps.detach() * mask
    classifier_loss = F.cross_entropy(reference.classifier(faces * mask), people)
    classifier_loss = classifier_loss + F.cross_entropy(
        reference.classifier(fixed), torch.full((8,), 4)
    )
    classifier_loss.backward()
    for mine, theirs in zip(terms.classifier.parameters(), reference.classifier.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad)
    # the decoders learn from the donor term alone (0.3 x the swaps' cross entropy to donors)
    decoders_ref = _decoders(4)
    swaps_ref = torch.stack(
        [decoders_ref[int(donors[i])](latent[i : i + 1].detach()).view(3, 16, 16) for i in range(8)]
    )
    frozen = reference.frozen_classifier(swaps_ref)
    (0.3 * F.cross_entropy(frozen, donors)).backward()
    for donor in donors.unique().tolist():
        mine, theirs = decoders[donor][1].weight.grad, decoders_ref[donor][1].weight.grad
        torch.testing.assert_close(mine, theirs)
    task = FaceSwapTask(
        net=FaceSwapAE(image_size=32, n_decoders=3, width=8),
        n_identities=3,
        swap_identity_weight=0.1,
        swap_identity_fake_class=True,
    )
    assert task.identity_terms.classifier[-1].out_features == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"latent_adversary_weight": -0.1}, r"task.latent_adversary_weight=-0.1 must be >= 0"),
        ({"swap_identity_weight": -1}, r"task.swap_identity_weight=-1 must be >= 0"),
        ({"swap_identity_weight": float("nan")}, r"task.swap_identity_weight=nan must be >= 0"),
        ({"latent_adversary_weight": "high"}, r"task.latent_adversary_weight='high' must be a"),
        ({"swap_identity_blur": -1.0}, r"task.swap_identity_blur=-1.0 must be >= 0"),
        (
            {"swap_identity_weight": 0.1, "swap_identity_blur": 12},
            r"task.swap_identity_blur=12 pixels reaches past the 32-pixel faces",
        ),
    ],
)
def test_bad_weights_are_config_errors_naming_the_key(options: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        FaceSwapTask(net=FaceSwapAE(image_size=32, n_decoders=2, width=8), **options)


@pytest.mark.parametrize("sigma", [0.0, 0.6, 1.0, 2.5])
def test_the_low_pass_is_scipys_gaussian_filter(sigma: float):
    from scipy.ndimage import gaussian_filter

    images = torch.rand(2, 3, 16, 20, generator=torch.Generator().manual_seed(1))
    ours = low_pass(images, gaussian_taps(sigma)).numpy()
    theirs = gaussian_filter(images.numpy(), (0, 0, sigma, sigma), mode="mirror", truncate=3.0)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_the_blurred_classifier_cannot_see_pixel_speckle_but_sees_colour():
    speckle = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 0.2 - 0.1
    faces = 0.5 + torch.zeros(1, 3, 16, 16)
    plain, blurred = _terms(swap=1.0), _terms(swap=1.0, blur=1.0)
    for terms in (plain, blurred):
        assert terms.classifier_view(faces + speckle).shape == (1, 3, 16, 16)
    # the checkerboard reaches the plain classifier whole, the blurred one at < 2% of it
    change = plain.classifier_view(faces + speckle) - plain.classifier_view(faces)
    assert change.abs().max() == pytest.approx(0.1 * plain.face_mask.max().item(), rel=1e-5)
    change = blurred.classifier_view(faces + speckle) - blurred.classifier_view(faces)
    assert change.abs().max() < 0.02 * 0.1
    # a colour shift passes the blur as it is
    red = faces.clone()
    red[:, 0] += 0.2
    torch.testing.assert_close(
        blurred.classifier_view(red) - blurred.classifier_view(faces),
        0.2 * blurred.face_mask.expand(1, 3, 16, 16) * torch.tensor([1.0, 0, 0])[:, None, None],
    )


def test_the_swap_term_needs_one_decoder_per_person_and_two_people_a_batch():
    with pytest.raises(ConfigError, match="one decoder for everyone; use generator=faceswap_ae"):
        FaceSwapTask(net=SeedConvAE(image_size=32), n_identities=2, swap_identity_weight=1.0)
    terms = _terms(swap=1.0)
    with pytest.raises(ConfigError, match=r"data.people_per_batch=1 puts one person in a batch"):
        terms.check_people_per_batch(1)
    terms.check_people_per_batch(2)
    terms.check_people_per_batch(None)  # every person in every batch
    _terms(adversary=1.0).check_people_per_batch(1)  # the adversary needs no second person


def test_no_terms_when_both_weights_are_zero_and_the_latent_shape_is_the_encoders():
    net = FaceSwapAE(image_size=32, n_decoders=3, width=8, norm="batch")
    stats = net.encoder[0][1].running_mean.clone()
    assert identity_terms(net, 3, FACE, 0.0, 0) is None
    terms = identity_terms(net, 3, FACE, 0.5, 0.0)
    assert torch.equal(net.encoder[0][1].running_mean, stats) and net.training
    latent = net.encode(torch.rand(2, 3, 32, 32))
    assert terms.adversary(latent).shape == (2, 3) and terms.classifier is None
    assert math.isclose(terms.adversary_weight, 0.5)


@pytest.fixture(scope="module")
def identity_run(tmp_path_factory) -> Path:
    faces = make_identity_manifest(tmp_path_factory.mktemp("faces"))
    run_dir = tmp_path_factory.mktemp("run") / "faceswap"
    result = train_tiny(
        "faceswap",
        faces,
        run_dir,
        "task.latent_adversary_weight=0.1",
        "task.swap_identity_weight=1.0",
        "task.swap_identity_blur=0.5",
        "task.swap_identity_fake_class=true",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_a_run_records_the_terms_and_its_checkpoint_swaps_with_or_without_them(
    identity_run: Path, tmp_path: Path
):
    metrics = read_results(identity_run)["metrics"]
    for key in ("val/latent_id_top1", "val/id_classifier_top1", "val/swap_id_top1"):
        assert 0.0 <= metrics[key]["value"] <= 1.0 and metrics[key]["n"] > 0, key
    path = identity_run / "checkpoints" / "best.ckpt"
    task = restore_task(path, "faceswap")
    assert task.identity_terms.adversary is not None and task.identity_terms.classifier is not None
    # two people and the swaps' own class, behind the configured blur
    assert task.identity_terms.classifier[-1].out_features == 3
    assert task.identity_terms.blur == 0.5 and len(task.identity_terms.blur_taps) == 5
    faces = torch.rand(2, 3, SIZE, SIZE)
    swapped = task.swap_image(faces, 1)
    # an old checkpoint: no identity keys in its hyper-parameters, no classifier weights
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    for key in (
        "latent_adversary_weight",
        "swap_identity_weight",
        "swap_identity_blur",
        "swap_identity_fake_class",
    ):
        del checkpoint["hyper_parameters"][key]
    checkpoint["state_dict"] = {
        k: v for k, v in checkpoint["state_dict"].items() if not k.startswith("identity_terms.")
    }
    torch.save(checkpoint, tmp_path / "old.ckpt")
    old = restore_task(tmp_path / "old.ckpt", "faceswap")
    assert old.identity_terms is None
    torch.testing.assert_close(old.swap_image(faces, 1), swapped)  # the swap needs no classifier


def test_the_learned_mask_recipe_trains_with_the_terms(tmp_path: Path):
    faces = make_identity_manifest(tmp_path / "faces")
    result = train_tiny(
        "faceswap_masked",
        faces,
        tmp_path / "run",
        "task.latent_adversary_weight=0.1",
        "task.swap_identity_weight=0.01",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_results(tmp_path / "run")["metrics"]
    assert metrics["val/swap_id_top1"]["n"] == metrics["val/psnr"]["n"] > 0
