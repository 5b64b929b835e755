"""Face-swap training levers: the face crop, the loss weights, batch norm, the lr schedule."""

from __future__ import annotations

import pytest
import torch

from fakearena.data.transforms.face_crop import FaceCrop
from fakearena.errors import ConfigError
from fakearena.models.generators.faceswap_ae import FaceSwapAE
from fakearena.tasks.faceswap import FaceSwapTask
from fakearena.tasks.faceswap_loss_weights import LossWeights
from fakearena.tasks.faceswap_losses import reconstruction_loss


def test_face_crop_cuts_resizes_and_pastes_back_its_box():
    crop = FaceCrop(center=(0.5, 0.5625), size=0.625)
    assert crop.box(64, 64) == (16, 12, 40, 40)
    assert crop.box(32, 32) == (8, 6, 20, 20)
    images = torch.rand(2, 3, 64, 64)
    patch = crop.crop(images, 40)
    torch.testing.assert_close(patch, images[:, :, 16:56, 12:52])
    small = crop.crop(images, 32)
    assert small.shape == (2, 3, 32, 32) and small.min() >= 0 and small.max() <= 1
    faces = torch.zeros(2, 3, 32, 32)
    pasted = crop.paste(images, faces)
    assert pasted[:, :, 16:56, 12:52].abs().max() == 0
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[16:56, 12:52] = False
    torch.testing.assert_close(pasted[:, :, outside], images[:, :, outside])
    # a box at the border stays inside the image
    assert FaceCrop(center=(0.95, 0.05), size=0.5).box(64, 64) == (0, 32, 32, 32)
    assert FaceCrop.from_options(None) is None
    with pytest.raises(ConfigError, match="crop has unknown"):
        FaceCrop.from_options({"side": 0.5})
    with pytest.raises(ConfigError, match=r"crop\.size"):
        FaceCrop(size=1.5)


def test_loss_weights_mask_the_face_and_favour_detail():
    assert LossWeights()(torch.rand(1, 3, 16, 16)) is None  # uniform by default
    weights = LossWeights(center=(0.5, 0.5), axes=(0.3, 0.3), feather=0.0, outside=0.1)
    flat = torch.full((2, 3, 32, 32), 0.5)
    w = weights(flat)
    assert w.shape == (2, 1, 32, 32)
    assert w[0, 0, 16, 16] == 1.0 and w[0, 0, 0, 0] == pytest.approx(0.1)
    detailed = flat.clone()
    detailed[:, :, 16, 10:22] = 0.0  # a dark line (a brow): high local contrast
    dw = LossWeights(center=(0.5, 0.5), axes=(0.3, 0.3), outside=0.1, detail=4.0)(detailed)
    assert dw[0, 0, 16, 16] == pytest.approx(5.0)  # saturated contrast: 1 + detail
    assert float(dw[0, 0, 28, 16]) == pytest.approx(float(w[0, 0, 28, 16]))  # flat skin
    with pytest.raises(ConfigError, match="outside"):
        LossWeights(outside=2.0)
    with pytest.raises(ConfigError, match="unknown key"):
        LossWeights.from_options({"eyes": 3})


def test_weighted_loss_is_the_weighted_mean_and_uniform_weights_change_nothing():
    recon, target = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    ones = torch.ones(2, 1, 16, 16)
    for kind in ("mse", "l1"):
        for ssim_weight in (0.0, 0.5):
            plain = reconstruction_loss(recon, target, kind, ssim_weight)
            weighted = reconstruction_loss(recon, target, kind, ssim_weight, weights=ones)
            torch.testing.assert_close(plain, weighted)
    only_left = torch.zeros(2, 1, 16, 16)
    only_left[..., :8] = 1.0
    expected = (recon - target)[..., :8].square().mean()
    torch.testing.assert_close(reconstruction_loss(recon, target, weights=only_left), expected)


def test_batch_norm_variant_and_its_config_errors():
    net = FaceSwapAE(image_size=32, n_decoders=2, width=8, norm="batch")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    out = net(torch.rand(4, 3, 32, 32), 1)
    assert out.shape == (4, 3, 32, 32)
    with pytest.raises(ConfigError, match=r"generator\.norm"):
        FaceSwapAE(image_size=32, norm="layer")


def _norms(module: torch.nn.Module) -> list[torch.nn.Module]:
    kinds = (torch.nn.BatchNorm2d, torch.nn.GroupNorm)
    return [m for m in module.modules() if isinstance(m, kinds)]


@pytest.mark.parametrize(
    ("decoder_norm", "kind", "groups"),
    [("instance", torch.nn.GroupNorm, "channels"), ("group", torch.nn.GroupNorm, 8)],
)
def test_decoder_norm_replaces_the_decoders_batch_norm_only(decoder_norm, kind, groups):
    net = FaceSwapAE(image_size=32, n_decoders=3, width=8, norm="batch", decoder_norm=decoder_norm)
    encoder = _norms(net.encoder)
    assert encoder and all(type(m) is torch.nn.BatchNorm2d for m in encoder)
    for decoder in net.decoders:
        layers = _norms(decoder)
        assert len(layers) == 2 and all(type(m) is kind for m in layers)  # 8->16->32 px
        for m in layers:
            assert m.num_groups == (m.num_channels if groups == "channels" else groups)
    plain = FaceSwapAE(image_size=32, n_decoders=3, width=8, norm="batch", decoder_norm="none")
    assert all(not _norms(d) for d in plain.decoders) and _norms(plain.encoder)
    same = FaceSwapAE(image_size=32, n_decoders=3, width=8, norm="batch", decoder_norm=None)
    assert all(type(m) is torch.nn.BatchNorm2d for m in _norms(same.decoders[0]))


def test_instance_decoder_norm_is_batch_norm_of_one_face_in_both_modes():
    torch.manual_seed(0)
    net = FaceSwapAE(image_size=32, n_decoders=2, width=8, decoder_norm="instance")
    with torch.no_grad():
        for m in _norms(net):  # a non-trivial affine, the same in both copies below
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
    latent = torch.randn(5, 32, 8, 8)
    net.train()
    together = net.decode(latent, 1)
    alone = torch.cat([net.decode(latent[i : i + 1], 1) for i in range(5)])
    net.eval()
    torch.testing.assert_close(net.decode(latent, 1), together)  # train = eval
    torch.testing.assert_close(together, alone)  # a face does not depend on its batch
    # the independent computation: the same decoder with batch norm in training mode,
    # given one face at a time (what a decoder of a batch of one face per person does)
    batch = FaceSwapAE(image_size=32, n_decoders=2, width=8, decoder_norm="batch")
    state = {k: v for k, v in net.state_dict().items()}
    batch.load_state_dict(state, strict=False)
    batch.train()
    with torch.no_grad():
        one_by_one = torch.cat([batch.decode(latent[i : i + 1], 1) for i in range(5)])
        batch.eval()  # running averages (here their initial 0 and 1): not the same faces
        running = batch.decode(latent, 1)
    torch.testing.assert_close(one_by_one, alone)
    assert (running - alone).abs().max() > 1e-2


def test_bad_decoder_norm_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"generator\.decoder_norm='layer'.*null: the same"):
        FaceSwapAE(image_size=32, decoder_norm="layer")
    with pytest.raises(ConfigError, match=r"generator\.norm='layer'"):
        FaceSwapAE(image_size=32, norm="layer", decoder_norm="instance")


def test_shared_decoder_draws_each_person_by_their_own_parameters():
    torch.manual_seed(0)
    net = FaceSwapAE(image_size=32, n_decoders=3, width=8, norm="batch", decoders="shared")
    assert len(net.decoders) == 1 and net.n_decoders == 3
    shared = net.decoders[0]
    with torch.no_grad():  # trained-looking per-person parameters
        shared.person_maps.normal_(0, 1)
        for norm in shared.norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    net.eval()
    latent = torch.randn(4, 32, 8, 8)
    with torch.no_grad():
        faces = [net.decode(latent, k) for k in range(3)]
        assert (faces[0] - faces[1]).abs().max() > 1e-2  # another person, another face
        # the independent computation: person 2's maps and affines by hand
        x = latent + shared.person_maps[2]
        for conv, norm in zip(shared.convs, shared.norms):
            h = conv(x)
            mean = h.mean((2, 3), keepdim=True)
            var = h.var((2, 3), unbiased=False, keepdim=True)
            h = (h - mean) / torch.sqrt(var + 1e-5)
            h = h * norm.weight[2][None, :, None, None] + norm.bias[2][None, :, None, None]
            x = torch.nn.functional.pixel_shuffle(torch.nn.functional.leaky_relu(h, 0.1), 2)
        torch.testing.assert_close(faces[2], torch.sigmoid(shared.head(x)))
        alone = torch.cat([net.decode(latent[i : i + 1], 2) for i in range(4)])
        torch.testing.assert_close(faces[2], alone)  # no batch statistics
    # one backward pass of person 1's loss reaches the shared weights and person 1 only
    net.train()
    net.decode(latent, 1).sum().backward()
    assert shared.convs[0].weight.grad.abs().sum() > 0
    grads = shared.person_maps.grad.abs().sum((1, 2, 3))
    assert grads[1] > 0 and grads[0] == 0 and grads[2] == 0
    masked = FaceSwapAE(image_size=32, n_decoders=2, width=8, decoders="shared", mask=True)
    rgb, mask = masked.decode_with_mask(torch.randn(2, 32, 8, 8), 1)
    assert rgb.shape == (2, 3, 32, 32) and mask.shape == (2, 1, 32, 32)
    with pytest.raises(IndexError, match="decoder 3 does not exist"):
        net.decode(latent, 3)
    with pytest.raises(ConfigError, match=r"generator\.decoders='tied'"):
        FaceSwapAE(image_size=32, decoders="tied")
    with pytest.raises(ConfigError, match=r"decoders=shared .* generator\.decoder_norm='batch'"):
        FaceSwapAE(image_size=32, decoders="shared", decoder_norm="batch")


def test_task_swaps_whole_images_through_its_crop():
    torch.manual_seed(0)
    task = FaceSwapTask(
        net=FaceSwapAE(image_size=32, n_decoders=2, width=8),
        n_identities=2,
        crop={"center": [0.5, 0.5625], "size": 0.625},
    ).eval()
    images = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        out = task.swap_image(images, 1)
        inner = task.swap(task.model_view(images), 1)
    assert out.shape == images.shape
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[16:56, 12:52] = False
    torch.testing.assert_close(out[:, :, outside], images[:, :, outside])
    torch.testing.assert_close(
        out[:, :, 16:56, 12:52],
        FaceCrop((0.5, 0.5625), 0.625).paste(images, inner)[:, :, 16:56, 12:52],
    )
    with pytest.raises(ConfigError, match="lr_schedule"):
        FaceSwapTask(net=FaceSwapAE(image_size=32, width=8), lr_schedule="step")
    with pytest.raises(ConfigError, match="blend"):
        FaceSwapTask(net=FaceSwapAE(image_size=32, width=8), blend={"colour": "lab"})
