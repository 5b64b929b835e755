"""Detectors: every config in conf/detector maps (2,3,H,W) in [0,1] to (2,) logits; MesoNet
matches the paper's parameter counts; timm weights load from local files only, safely."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from safetensors.torch import save_file

from fakearena.config import compose, config_dir
from fakearena.errors import CheckpointError, ConfigError
from fakearena.models.detectors.meso import Meso4, MesoInception4
from fakearena.models.detectors.timm_backbone import TimmDetector

DETECTORS = sorted(p.stem for p in (config_dir() / "detector").glob("*.yaml"))
# The generic config needs a model name.
EXTRA = {"timm": ["detector.name=test_vit", "detector.img_size=${data.image_size}"]}


def build(name: str, size: int, *extra: str) -> torch.nn.Module:
    cfg = compose("train", [f"detector={name}", f"data.image_size={size}", *extra])
    node = OmegaConf.to_container(cfg.detector, resolve=True)
    node.pop("name")
    return instantiate(node)


@pytest.mark.parametrize("name", DETECTORS)
def test_every_detector_maps_a_batch_to_one_logit_per_image(name: str):
    torch.manual_seed(0)
    net = build(name, 32, *EXTRA.get(name, [])).eval()
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        logits = net(images)
    assert logits.shape == (2,)
    assert torch.isfinite(logits).all()
    # one logit per image: the score of an image does not depend on the rest of the batch
    with torch.no_grad():
        alone = net(images[1:])
    torch.testing.assert_close(alone, logits[1:], rtol=1e-4, atol=1e-4)


def _trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def test_mesonet_parameter_counts_match_the_paper():
    # Afchar et al. 2018, section 3: Meso-4 has 27,977 trainable parameters and
    # MesoInception-4 28,615 (at 256x256 inputs).
    assert _trainable(Meso4(image_size=256)) == 27_977
    assert _trainable(MesoInception4(image_size=256)) == 28_615


def test_mesonet_rejects_sizes_it_was_not_built_for():
    with pytest.raises(ConfigError, match="multiple of 32"):
        Meso4(image_size=48)
    with pytest.raises(ValueError, match=r"built for \(3, 64, 64\)"):
        Meso4(image_size=64)(torch.rand(1, 3, 32, 32))


def test_timm_detector_normalises_with_the_models_mean_and_std():
    torch.manual_seed(0)
    net = TimmDetector(model_name="test_efficientnet").eval()
    cfg = net.model.pretrained_cfg
    images = torch.rand(2, 3, 32, 32)
    mean = torch.tensor(cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = net.model((images - mean) / std).squeeze(1)
        torch.testing.assert_close(net(images), expected)
    assert cfg["mean"] != (0.5, 0.5, 0.5)  # a model whose normalisation is not the identity


def test_unknown_timm_model_lists_similar_names():
    with pytest.raises(ConfigError, match="test_resnet"):
        TimmDetector(model_name="test_resnetz")


def _source_weights(tmp_path: Path) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return TimmDetector(model_name="test_resnet").model.state_dict()


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_pretrained_file_loads_the_backbone_and_a_fresh_head(tmp_path: Path, suffix: str):
    weights = _source_weights(tmp_path)
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in weights.items()}, str(path))
    else:
        torch.save({"state_dict": weights}, path)
    torch.manual_seed(2)
    net = TimmDetector(model_name="test_resnet", pretrained_file=str(path))
    loaded = net.model.state_dict()
    head = net.classifier_keys()
    assert head and all(k.startswith("fc.") for k in head)
    for key, value in weights.items():
        if key not in head:
            torch.testing.assert_close(loaded[key], value)
    torch.manual_seed(2)
    fresh = TimmDetector(model_name="test_resnet").model.state_dict()
    for key in head:
        torch.testing.assert_close(loaded[key], fresh[key])


def test_pretrained_file_hash_and_architecture_are_checked(tmp_path: Path):
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in _source_weights(tmp_path).items()}, str(path))
    with pytest.raises(CheckpointError, match="SHA-256"):
        TimmDetector(
            model_name="test_resnet", pretrained_file=str(path), pretrained_sha256="0" * 64
        )
    with pytest.raises(CheckpointError, match="does not fit timm model 'test_efficientnet'"):
        TimmDetector(model_name="test_efficientnet", pretrained_file=str(path))
    with pytest.raises(CheckpointError, match="does not exist"):
        TimmDetector(model_name="test_resnet", pretrained_file=str(tmp_path / "none.pth"))


class _CreatesFile:
    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_pretrained_file_with_pickled_code_is_refused(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"conv1.weight": _CreatesFile(marker)}, fh)
    with pytest.raises(CheckpointError, match="weights_only"):
        TimmDetector(model_name="test_resnet", pretrained_file=str(path))
    assert not marker.exists()


def test_pretrained_weights_are_never_fetched_by_default():
    for name in DETECTORS:
        node = OmegaConf.load(config_dir() / "detector" / f"{name}.yaml")
        assert node.get("pretrained", False) is False, name
