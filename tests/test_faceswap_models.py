"""Face-swap networks: the reference conv model's layers, the autoencoder's shape and routing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.faceswap_ae import FaceSwapAE
from fakearena.models.generators.seed_conv_ae import SeedConvAE
from fakearena.tasks.faceswap import FaceSwapTask


def _leaf_layers(net: nn.Module) -> list[tuple]:
    described = []
    for module in net.modules():
        if list(module.children()):
            continue
        if isinstance(module, nn.Conv2d):
            described.append(
                ("Conv2d", module.in_channels, module.out_channels, module.kernel_size)
            )
        elif isinstance(module, nn.Linear):
            described.append(("Linear", module.in_features, module.out_features))
        elif isinstance(module, nn.MaxPool2d):
            described.append(("MaxPool2d", module.kernel_size))
        else:
            described.append((type(module).__name__,))
    return described


@pytest.mark.parametrize("size", [64, 128])
def test_seed_conv_ae_is_the_reference_layer_list(size: int):
    net = SeedConvAE(image_size=size)
    # flattened size from running the reference conv stack itself, not from the formula
    convs = nn.Sequential(
        nn.Conv2d(3, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.MaxPool2d(2)
    )
    flat = convs(torch.zeros(1, 3, size, size)).numel()
    assert _leaf_layers(net) == [
        ("Conv2d", 3, 64, (3, 3)),
        ("ReLU",),
        ("MaxPool2d", 2),
        ("Conv2d", 64, 64, (3, 3)),
        ("ReLU",),
        ("MaxPool2d", 2),
        ("Flatten",),
        ("Linear", flat, 512),
        ("ReLU",),
        ("Linear", 512, size * size * 3),
        ("Sigmoid",),
        ("Unflatten",),
    ]
    out = net(torch.rand(2, 3, size, size))
    assert out.shape == (2, 3, size, size) and out.min() > 0 and out.max() < 1
    assert net.n_decoders == 1
    with pytest.raises(ConfigError, match="one decoder shared"):
        SeedConvAE(image_size=64, n_decoders=2)


@pytest.mark.parametrize(("size", "n_down"), [(32, 3), (64, 4), (128, 5)])
def test_faceswap_ae_follows_the_deepfakes_family(size: int, n_down: int):
    net = FaceSwapAE(image_size=size, n_decoders=3, width=8)
    convs = [m for m in net.encoder.modules() if isinstance(m, nn.Conv2d)]
    strided = [c for c in convs if c.stride == (2, 2)]
    assert len(strided) == n_down and all(c.kernel_size == (5, 5) for c in strided)
    assert sum(isinstance(m, nn.Linear) for m in net.encoder.modules()) == 2  # dense bottleneck
    assert any(isinstance(m, nn.PixelShuffle) for m in net.encoder.modules())
    assert len(net.decoders) == 3
    for decoder in net.decoders:
        assert isinstance(decoder[-1], nn.Sigmoid)
        assert any(isinstance(m, nn.PixelShuffle) for m in decoder.modules())
    out = net(torch.rand(2, 3, size, size), 2)
    assert out.shape == (2, 3, size, size) and out.min() > 0 and out.max() < 1
    with pytest.raises(IndexError, match="decoder 3"):
        net(torch.rand(1, 3, size, size), 3)


def test_original_width_has_the_original_channels():
    with torch.device("meta"):  # structure only: no memory for the ~82M parameters
        net = FaceSwapAE(image_size=64, n_decoders=2, width=128)
    convs = [m.out_channels for m in net.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert convs[:4] == [128, 256, 512, 1024]
    linears = [
        (m.in_features, m.out_features) for m in net.encoder.modules() if isinstance(m, nn.Linear)
    ]
    assert linears == [(1024 * 16, 1024), (1024, 1024 * 16)]


@pytest.mark.parametrize(("size", "width"), [(48, 8), (16, 8), (64, 6)])
def test_bad_geometry_is_a_config_error(size: int, width: int):
    with pytest.raises(ConfigError, match="generator"):
        FaceSwapAE(image_size=size, width=width)


def test_a_to_b_uses_b_decoder():
    torch.manual_seed(0)
    task = FaceSwapTask(net=FaceSwapAE(image_size=32, n_decoders=2, width=8), n_identities=2)
    faces = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        a_to_b, a_to_a = task.swap(faces, 1), task.swap(faces, 0)
        assert not torch.allclose(a_to_b, a_to_a)
        torch.testing.assert_close(a_to_b, task.net.decoders[1](task.net.encode(faces)))
        # swap the decoders' weights: A->B must now give what A->A gave, and vice versa
        dec0 = {k: v.clone() for k, v in task.net.decoders[0].state_dict().items()}
        task.net.decoders[0].load_state_dict(task.net.decoders[1].state_dict())
        task.net.decoders[1].load_state_dict(dec0)
        torch.testing.assert_close(task.swap(faces, 1), a_to_a)
        torch.testing.assert_close(task.swap(faces, 0), a_to_b)


def test_reconstruct_routes_each_face_to_its_own_decoder():
    torch.manual_seed(1)
    task = FaceSwapTask(net=FaceSwapAE(image_size=32, n_decoders=3, width=8), n_identities=3)
    faces, codes = torch.rand(5, 3, 32, 32), torch.tensor([2, 0, 1, 0, 2])
    with torch.no_grad():
        out = task.reconstruct(faces, codes)
        for i, code in enumerate(codes.tolist()):
            torch.testing.assert_close(out[i], task.swap(faces[i : i + 1], code)[0])


def test_one_shared_decoder_serves_every_identity():
    torch.manual_seed(2)
    task = FaceSwapTask(net=SeedConvAE(image_size=32), n_identities=2)
    faces = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(task.swap(faces, 1), task.swap(faces, 0))
        torch.testing.assert_close(task.reconstruct(faces, torch.tensor([0, 1])), task.net(faces))


def test_decoder_count_must_fit_the_identities():
    with pytest.raises(ConfigError, match="n_decoders=3"):
        FaceSwapTask(net=FaceSwapAE(image_size=32, n_decoders=2, width=8), n_identities=3)
    with pytest.raises(ConfigError, match="lacks `encode`"):
        FaceSwapTask(net=nn.Linear(2, 2), n_identities=2)
