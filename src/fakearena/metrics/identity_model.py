"""A face-recognition embedding for the synthetic faces: who is in an image, not how it was made.

A small CNN learns to tell `people` rendered identities apart, under blur, sensor noise, down-
and up-scaling and JPEG, so that image quality does not move it; its normalised penultimate
layer is the embedding. It comes in two regions (`IdentityModelSettings.region`):

- `head` (the confound check's model): the whole image, learnt from real shots only (never a
  fake); it recognises a person by all of the head, hair and skin included, so it names the
  target of a face swap, which keeps them.
- `inner_face` (the face swaps' ID metrics): the inner-face box only, learnt from real shots
  and the renderer's true swaps labelled by their donor (`fakearena.metrics.inner_face`); like
  a real face recognition network it names the person whose eyes, brows, nose and mouth it
  sees, so it names the donor of a perfect swap.

Its people are drawn from identity numbers far above any arena's (`FIRST_PERSON` on), so it
knows none of the people it is later asked about: those are recognised through a gallery of
their real shots (`fakearena.metrics.identity_source`). Seeded and deterministic on CPU; a
trained model is cached (`save` / `load`, weights_only) under a name that holds its settings.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter
from torch import nn

from fakearena.errors import ConfigError, DataError
from fakearena.metrics.inner_face import (
    SWAPS_PER_SHOT,
    cosine_margin_logits,
    donor_labelled_swaps,
    inner_face_crop,
)
from fakearena.utils.io import atomic_path

FIRST_PERSON = 1_000_000  # identity numbers of the model's own people (no arena draws these)
FIRST_SHOT = 500_000  # shot indices of its training images (no manifest draws these)
REGIONS = ("head", "inner_face")


@dataclass(frozen=True)
class IdentityModelSettings:
    """What a synthetic identity model is trained on and how (all of it keys the cache).

    Attributes:
        seed: the synthetic faces' seed (the same people and renderer as the arena) and the
            training seed.
        render_size: side of the rendered training shots (the arena's face size).
        input_size: side the network sees (images are resized to it, antialiased).
        people: identities it learns; shots: real shots of each; epochs, batch_size, lr: SGD.
        embedding: the embedding's dimension.
        region: what it sees and learns: `head` (the whole image, real shots) or `inner_face`
            (the inner-face box, real shots and donor-labelled true swaps).
    """

    seed: int = 0
    render_size: int = 64
    input_size: int = 32
    people: int = 64
    shots: int = 24
    epochs: int = 8
    batch_size: int = 64
    lr: float = 3e-3
    embedding: int = 64
    region: str = "head"

    def __post_init__(self):
        if self.region not in REGIONS:
            raise ConfigError(
                f"identity model region={self.region!r}; choose one of {', '.join(REGIONS)}"
            )

    def key(self) -> str:
        """A short hash of the settings (the cache file's name; a head model's leaves `region`
        out, so its name is the one it had before regions existed)."""
        values = asdict(self)
        if self.region == "head":
            del values["region"]
        text = json.dumps(values, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class EmbeddingNet(nn.Module):
    """(B, 3, S, S) float images in [0, 1] -> (B, embedding) unit vectors; `classify` adds
    the training head."""

    def __init__(self, people: int, embedding: int = 64):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.features = nn.Sequential(block(3, 16), block(16, 32), block(32, 64))
        self.project = nn.Sequential(
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(1024, embedding)
        )
        self.head = nn.Linear(embedding, people)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.project(self.features(images - 0.5)), dim=1)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.project(self.features(images - 0.5)))


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random quality change of a uint8 (H, W, 3) image: blur, down/up-scaling, JPEG and
    sensor noise, each with probability 1/2 (the embedding must not see image quality)."""
    pil = Image.fromarray(image)
    size = pil.size
    if rng.random() < 0.5:
        pil = pil.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
    if rng.random() < 0.5:
        side = max(8, round(size[0] * float(rng.uniform(0.35, 0.9))))
        pil = pil.resize((side, side), Image.BILINEAR).resize(size, Image.BILINEAR)
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=int(rng.integers(30, 96)))
        pil = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = np.asarray(pil, dtype=np.float32)
    if rng.random() < 0.5:
        out = out + rng.normal(0.0, float(rng.uniform(2.0, 12.0)), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def network_input(images: np.ndarray, size: int, region: str = "head") -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, size, size) in [0, 1]: the whole image (`head`) or
    its inner-face box (`inner_face`), antialiased resize."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(f"identity embedding takes (N, H, W, 3) RGB images, got {images.shape}")
    if region == "inner_face":
        images = inner_face_crop(images)
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return x


class SyntheticIdentityModel:
    """The trained embedding: `embed(images)` -> (N, D) unit vectors, a pluggable embedding."""

    def __init__(self, net: EmbeddingNet, settings: IdentityModelSettings):
        self.net = net.eval()
        self.settings = settings

    @torch.no_grad()
    def embed(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) RGB images -> float32 (N, D) unit embeddings."""
        out = [
            self.net(
                network_input(images[i : i + 256], self.settings.input_size, self.settings.region)
            )
            for i in range(0, len(images), 256)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, self.settings.embedding), np.float32)

    __call__ = embed

    def save(self, path: str | Path) -> Path:
        """Write the weights and settings (atomically)."""
        with atomic_path(path) as tmp:
            torch.save(
                {"settings": asdict(self.settings), "state_dict": self.net.state_dict()}, tmp
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> SyntheticIdentityModel:
        """Read a saved model (weights_only=True)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        settings = IdentityModelSettings(**state["settings"])
        net = EmbeddingNet(settings.people, settings.embedding)
        net.load_state_dict(state["state_dict"])
        return cls(net, settings)


def training_shots(settings: IdentityModelSettings) -> tuple[np.ndarray, np.ndarray]:
    """The rendered images the model learns, two degraded copies each, and their person: real
    shots, and for `inner_face` `SWAPS_PER_SHOT` true swaps per shot labelled by their donor."""
    from fakearena.data.synthetic import SyntheticRenderer

    renderer = SyntheticRenderer(settings.render_size, settings.seed)
    rng = np.random.default_rng([settings.seed, 7])
    faces, labels = [], []
    for person in range(settings.people):
        for shot in range(settings.shots):
            faces.append(renderer.render_face(FIRST_PERSON + person, FIRST_SHOT + shot))
            labels.append(person)
    if settings.region == "inner_face":
        people = [FIRST_PERSON + p for p in range(settings.people)]
        shots = [FIRST_SHOT + s for s in range(settings.shots)]
        targets = np.random.default_rng([settings.seed, 8])
        swaps, donors = donor_labelled_swaps(renderer, people, shots, targets, SWAPS_PER_SHOT)
        faces, labels = faces + swaps, labels + donors
    images, people = [], []
    for face, label in zip(faces, labels):
        images += [face, degrade(face, rng), degrade(face, rng)]
        people += [label] * 3
    return np.stack(images), np.asarray(people)


def training_logits(
    net: EmbeddingNet, inputs: torch.Tensor, labels: torch.Tensor, settings: IdentityModelSettings
) -> torch.Tensor:
    """The head model's softmax logits; the inner-face model's cosine-margin logits."""
    if settings.region == "head":
        return net.classify(inputs)
    return cosine_margin_logits(net.project(net.features(inputs - 0.5)), net.head.weight, labels)


def train_identity_model(settings: IdentityModelSettings) -> SyntheticIdentityModel:
    """Train the embedding on `training_shots` of `settings.people` rendered people (seeded)."""
    images, people = training_shots(settings)
    x = torch.cat(  # in chunks: the float copy of every full-size image at once is large
        [
            network_input(images[i : i + 1024], settings.input_size, settings.region)
            for i in range(0, len(images), 1024)
        ]
    )
    y = torch.from_numpy(people)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    net = EmbeddingNet(settings.people, settings.embedding)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    steps = settings.epochs * -(-len(x) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr, total_steps=steps)
    net.train()
    for _ in range(settings.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            inputs = x[batch]
            if torch.rand((), generator=generator) < 0.5:  # a horizontal flip: same person
                inputs = inputs.flip(-1)
            loss = F.cross_entropy(training_logits(net, inputs, y[batch], settings), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return SyntheticIdentityModel(net, settings)


def model_settings(
    seed: int,
    render_size: int,
    options: dict[str, Any] | None = None,
    key: str = "identity model options",
) -> IdentityModelSettings:
    """The settings of a model for faces of this seed and size, changed by `options` (fields
    of `IdentityModelSettings`); an unknown option is a ConfigError naming `key` (the config
    key that gave them) and the fields."""
    options = dict(options or {})
    known = [f.name for f in fields(IdentityModelSettings) if f.name not in ("seed", "render_size")]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(
            f"{key} {sorted(options)}: {unknown} are not fields of IdentityModelSettings; its "
            f"fields are {', '.join(known)} (seed and size come from the faces)"
        )
    if options.get("region", "head") not in REGIONS:
        raise ConfigError(f"{key} region={options['region']!r}; choose one of {', '.join(REGIONS)}")
    return IdentityModelSettings(seed=int(seed), render_size=int(render_size), **options)


def default_model_cache() -> Path:
    """`$FAKEARENA_CACHE/identity`, else `~/.cache/fakearena/identity`."""
    base = os.environ.get("FAKEARENA_CACHE") or Path.home() / ".cache" / "fakearena"
    return Path(base) / "identity"


def cached_identity_model(
    settings: IdentityModelSettings, cache_dir: str | Path | None
) -> SyntheticIdentityModel:
    """The model for `settings`: read from `cache_dir/identity_model-<key>.pt`, else trained
    and written there (cache_dir None: trained, not kept)."""
    if cache_dir is None:
        return train_identity_model(settings)
    path = Path(cache_dir) / f"identity_model-{settings.key()}.pt"
    if path.is_file():
        return SyntheticIdentityModel.load(path)
    model = train_identity_model(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model
