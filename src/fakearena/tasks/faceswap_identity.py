"""Identity terms of task=faceswap: make a swap carry its donor's identity.

A shared encoder that carries the person's identity in its latent lets every decoder draw
whoever the latent says, so a swap (A's latent through B's decoder) drifts back to A. Two
terms from the literature push against that:

- **Latent identity adversary** (Fader Networks, Lample et al. 2017, trained with the
  gradient reversal of Ganin & Lempitsky 2015): a small classifier on the encoder's latent
  learns to name the person; its gradient reaches the encoder reversed and scaled by
  `latent_adversary_weight`, so the encoder learns a latent the person cannot be named from
  (pose, expression and light stay: reconstruction needs them) and each decoder must supply
  its own person.
- **Swap identity loss** (as SimSwap and FaceShifter use a pretrained ArcFace; here none is
  downloaded): an identity classifier learns, in the run, to name the person of the batch's
  real training faces; each face of the batch is also swapped to another person of the batch,
  and the swaps are pushed (weight `swap_identity_weight`) to be named as that donor by the
  classifier with its parameters detached (`torch.func.functional_call`), so the swap term
  trains the generator and never the classifier (a classifier that learnt from swaps would
  learn to call every swap its donor).
- **Swaps as a class of their own** (`swap_identity_fake_class`; the classifier as the
  discriminator of AC-GAN / a semi-supervised GAN, as the face-swap papers pair their identity
  loss with an adversarial one): the classifier gets one more class, "a swap", and also
  learns to put the batch's swaps (detached) in it. It keeps learning what swaps look like, so
  a swap cannot stay named as its donor by fooling a fixed classifier; the generator's term
  is unchanged (the swaps' cross entropy to their donors, over all classes).

Both classifiers see the network's view (the face crop); the swap classifier sees it through
the face ellipse of `task.loss_weights` (what a swap pastes back), after a Gaussian low-pass
of `swap_identity_blur` pixels when that is > 0: a generator cannot then fool it with pixel
speckle (an adversarial pattern) and must move what survives the blur: colours, shapes, the
layout of the features. They learn only the run's
training faces. Their weights are part of the task's state (saved in the checkpoint) but not
needed to swap. Validation records how well each names held-out faces (`val/latent_id_top1`,
`val/id_classifier_top1`) and how often the classifier names a held-out swap as its donor
(`val/swap_id_top1`): the term's own view of the donor's identity, not an independent metric.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from fakearena.errors import ConfigError
from fakearena.generation.blend import EllipseMask
from fakearena.tasks.buffers import RowBuffer

HIDDEN = 64
# one column per row: 1 when the named identity is right (the donor, for a swap)
VAL_COLUMNS = ("latent_id_top1", "id_classifier_top1", "swap_id_top1")


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient multiplied by `-scale` on the way back."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """`x` unchanged; whatever reaches it backwards is multiplied by `-scale`."""
    return _ReverseGradient.apply(x, float(scale))


def check_weight(value: float, key: str) -> float:
    """A loss weight as a float >= 0 (a ConfigError naming `task.<key>` otherwise)."""
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"task.{key}={value!r} must be a number >= 0 (0: off)") from None
    if not weight >= 0:  # also refuses NaN
        raise ConfigError(f"task.{key}={value} must be >= 0 (0: off)")
    return weight


def gaussian_taps(sigma: float, truncate: float = 3.0) -> torch.Tensor:
    """The normalised 1-D Gaussian of std `sigma` pixels, radius `int(truncate*sigma + 0.5)`
    (scipy.ndimage.gaussian_filter's taps); `[1.]` for sigma 0."""
    radius = int(truncate * sigma + 0.5)
    if radius == 0:
        return torch.ones(1)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return (taps / taps.sum()).float()


def low_pass(images: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """(B,C,H,W) `images` blurred by the separable `taps` along both axes, each channel on its
    own, edges mirrored (scipy's mode='mirror')."""
    radius = len(taps) // 2
    if radius == 0:
        return images
    channels = images.shape[1]
    taps = taps.to(images)
    rows = taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    cols = taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    out = F.conv2d(F.pad(images, (radius, radius, 0, 0), mode="reflect"), rows, groups=channels)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), cols, groups=channels)


def latent_classifier(shape: tuple[int, ...], n_people: int) -> nn.Sequential:
    """The adversary: a (C,H,W) latent -> `n_people` logits."""
    channels, height, width = shape
    cells = ((height + 1) // 2) * ((width + 1) // 2)
    return nn.Sequential(
        nn.Conv2d(channels, HIDDEN, 3, stride=2, padding=1),
        nn.LeakyReLU(0.1),
        nn.Flatten(),
        nn.Linear(HIDDEN * cells, HIDDEN),
        nn.LeakyReLU(0.1),
        nn.Linear(HIDDEN, n_people),
    )


def face_classifier(size: int, n_people: int) -> nn.Sequential:
    """The swap term's classifier: (B,3,size,size) faces -> `n_people` logits (no batch
    statistics, so calling it on swaps changes nothing in it)."""
    layers: list[nn.Module] = []
    channels, side = 3, int(size)
    for out in (16, 32, 64):
        layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
        channels, side = out, (side + 1) // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * side * side, n_people))


def donors_in_batch(identities: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For every row, another person of the batch: the batch's people (sorted) shifted by one
    seeded offset in 1..P-1, so no row keeps its own person."""
    people = identities.unique()
    if len(people) < 2:
        raise ConfigError(
            "task.swap_identity_weight swaps each face to another person of its batch, but "
            "this batch holds one person; raise data.people_per_batch to 2 or more (or set "
            "task.swap_identity_weight=0)"
        )
    shift = int(torch.randint(1, len(people), (1,), generator=generator))
    position = torch.searchsorted(people, identities)
    return people[(position + shift) % len(people)]


def named(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1.0 where the top logit is `target`, else 0.0."""
    return (logits.argmax(1) == target).to(logits.dtype)


class IdentityTerms(nn.Module):
    """The latent adversary and the swap identity loss of a face-swap task.

    Args:
        latent_shape: (C,H,W) of the encoder's latent.
        face_size: side of the faces the network sees.
        n_people: how many people (classes).
        face_mask: (1,1,S,S) weights the swap classifier's input is multiplied by (the face
            region a swap pastes back).
        latent_adversary_weight: scale of the reversed gradient reaching the encoder (0: no
            adversary).
        swap_identity_weight: weight of the swaps' cross entropy to their donors (0: no
            classifier).
        swap_identity_blur: std in pixels of the Gaussian low-pass everything the swap
            classifier sees goes through (0: none).
        swap_identity_fake_class: the classifier also learns a class of its own for swaps.
    """

    def __init__(
        self,
        *,
        latent_shape: tuple[int, ...],
        face_size: int,
        n_people: int,
        face_mask: torch.Tensor,
        latent_adversary_weight: float = 0.0,
        swap_identity_weight: float = 0.0,
        swap_identity_blur: float = 0.0,
        swap_identity_fake_class: bool = False,
    ):
        super().__init__()
        self.adversary_weight = check_weight(latent_adversary_weight, "latent_adversary_weight")
        self.swap_weight = check_weight(swap_identity_weight, "swap_identity_weight")
        self.adversary = None
        if self.adversary_weight:
            self.adversary = latent_classifier(latent_shape, n_people)
        self.fake_class = bool(swap_identity_fake_class)
        classes = n_people + int(self.fake_class)  # the last one: "a swap"
        self.classifier = face_classifier(face_size, classes) if self.swap_weight else None
        self.register_buffer("face_mask", face_mask.detach().float(), persistent=False)
        blur = check_weight(swap_identity_blur, "swap_identity_blur")
        taps = gaussian_taps(blur)
        if len(taps) // 2 >= face_size:
            raise ConfigError(
                f"task.swap_identity_blur={swap_identity_blur} pixels reaches past the "
                f"{face_size}-pixel faces the classifier sees; use a blur under {face_size / 3:g}"
            )
        self.blur = blur
        self.register_buffer("blur_taps", taps, persistent=False)
        self.val_buffer = RowBuffer(VAL_COLUMNS)

    @property
    def active(self) -> bool:
        return self.adversary is not None or self.classifier is not None

    def check_people_per_batch(self, people_per_batch: int | None) -> None:
        """Refuse batches of one person when the swap term needs another person to swap to."""
        if self.classifier is not None and people_per_batch is not None and people_per_batch < 2:
            raise ConfigError(
                f"task.swap_identity_weight={self.swap_weight} swaps each face to another person "
                f"of its batch, but data.people_per_batch={people_per_batch} puts one person in "
                "a batch; raise data.people_per_batch to 2 or more (or set "
                "task.swap_identity_weight=0)"
            )

    def classifier_view(self, faces: torch.Tensor) -> torch.Tensor:
        """What the swap classifier sees of `faces`: low-passed, then through the face mask."""
        return low_pass(faces, self.blur_taps) * self.face_mask

    def frozen_classifier(self, faces: torch.Tensor) -> torch.Tensor:
        """The classifier's logits of `faces` with its parameters detached: gradients reach
        the faces (the generator), never the classifier."""
        params = {name: p.detach() for name, p in self.classifier.named_parameters()}
        return functional_call(self.classifier, params, (self.classifier_view(faces),))

    def losses(
        self,
        latent: torch.Tensor,
        identities: torch.Tensor,
        faces: torch.Tensor,
        decode: Callable[[torch.Tensor, int], torch.Tensor],
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The terms' sum for one training batch and what to log.

        Args:
            latent: the encoder's latent of the batch (gradients flow back into it).
            identities: (B,) person codes.
            faces: (B,3,S,S) real faces the classifier learns to name (the loss targets).
            decode: `decode(latent_rows, person)` -> that person's decoder's (b,3,S,S) faces.
            generator: seeds the choice of donors.
        """
        total, logged = latent.new_zeros(()), {}
        if self.adversary is not None:
            logits = self.adversary(reverse_gradient(latent, self.adversary_weight))
            ce = F.cross_entropy(logits.float(), identities)
            total = total + ce
            logged["latent_id_ce"] = ce.detach()
            logged["latent_id_top1"] = named(logits, identities).mean()
        if self.classifier is not None:
            real = self.classifier(self.classifier_view(faces.detach()))
            real_ce = F.cross_entropy(real.float(), identities)
            donors = donors_in_batch(identities, generator)
            swaps = torch.empty_like(faces)
            for donor in donors.unique().tolist():
                rows = donors == donor
                swaps[rows] = decode(latent[rows], int(donor)).to(swaps.dtype)
            logits = self.frozen_classifier(swaps)
            swap_ce = F.cross_entropy(logits.float(), donors)
            total = total + real_ce + self.swap_weight * swap_ce
            if self.fake_class:  # the classifier learns the swaps' class from detached swaps
                seen = self.classifier(self.classifier_view(swaps.detach()))
                fake = torch.full_like(donors, seen.shape[1] - 1)
                fake_ce = F.cross_entropy(seen.float(), fake)
                total = total + fake_ce
                logged["swap_fake_ce"] = fake_ce.detach()
            logged |= {
                "id_classifier_ce": real_ce.detach(),
                "id_classifier_top1": named(real, identities).mean(),
                "swap_id_ce": swap_ce.detach(),
                "swap_id_top1": named(logits, donors).mean(),
            }
        return total, logged

    @torch.no_grad()
    def evaluate(
        self,
        rows: torch.Tensor,
        latent: torch.Tensor,
        identities: torch.Tensor,
        faces: torch.Tensor,
        decode: Callable[[torch.Tensor, int], torch.Tensor],
        n_people: int,
    ) -> None:
        """Record, for held-out faces, whether each classifier names the person and whether
        the classifier names the face's swap to the next person (code + 1) as that donor."""
        zeros = identities.new_zeros(identities.shape, dtype=torch.float32)
        hits = dict.fromkeys(VAL_COLUMNS, zeros - 1)  # -1: that term is off
        if self.adversary is not None:
            hits["latent_id_top1"] = named(self.adversary(latent), identities).float()
        if self.classifier is not None:
            hits["id_classifier_top1"] = named(self.frozen_classifier(faces), identities).float()
            donors = (identities + 1) % n_people
            swaps = torch.empty_like(faces)
            for donor in donors.unique().tolist():
                picked = donors == donor
                swaps[picked] = decode(latent[picked], int(donor)).to(swaps.dtype)
            hits["swap_id_top1"] = named(self.frozen_classifier(swaps), donors).float()
        self.val_buffer.add(rows, **hits)

    def summary(self, stage: str) -> dict[str, tuple[float, int]]:
        """`{stage/<column>: (share named right, rows)}` of the terms that are on; resets."""
        _, values = self.val_buffer.gather()
        self.val_buffer.reset()
        out = {}
        for name, column in values.items():
            if len(column) and column[0] >= 0:
                out[f"{stage}/{name}"] = (float(column.mean()), len(column))
        return out


def identity_terms(
    net: nn.Module,
    n_people: int,
    face: EllipseMask,
    latent_adversary_weight: float,
    swap_identity_weight: float,
    swap_identity_blur: float = 0.0,
    swap_identity_fake_class: bool = False,
) -> IdentityTerms | None:
    """The identity terms of a face-swap network (None when both weights are 0).

    Args:
        net: the face-swap network (its latent's shape is read from one blank face).
        n_people: how many people it swaps between.
        face: the face region the swap classifier looks through (what a swap pastes back).
        latent_adversary_weight: `task.latent_adversary_weight`.
        swap_identity_weight: `task.swap_identity_weight`.
        swap_identity_blur: `task.swap_identity_blur` (pixels of the network's view).
        swap_identity_fake_class: `task.swap_identity_fake_class`.
    """
    adversary_weight = check_weight(latent_adversary_weight, "latent_adversary_weight")
    swap_weight = check_weight(swap_identity_weight, "swap_identity_weight")
    check_weight(swap_identity_blur, "swap_identity_blur")
    if not adversary_weight and not swap_weight:
        return None
    if swap_weight and net.n_decoders < 2:
        raise ConfigError(
            f"task.swap_identity_weight={swap_weight} trains swaps to other people's decoders, "
            "but this generator has one decoder for everyone; use generator=faceswap_ae (one "
            "decoder per person) or set task.swap_identity_weight=0"
        )
    size = int(net.image_size)
    was_training = net.training
    net.eval()  # the latent's shape without touching batch-norm statistics
    with torch.no_grad():
        shape = tuple(net.encode(torch.zeros(1, 3, size, size)).shape[1:])
    net.train(was_training)
    return IdentityTerms(
        latent_shape=shape,
        face_size=size,
        n_people=n_people,
        face_mask=torch.from_numpy(face.render(size, size)).float()[None, None],
        latent_adversary_weight=adversary_weight,
        swap_identity_weight=swap_weight,
        swap_identity_blur=swap_identity_blur,
        swap_identity_fake_class=swap_identity_fake_class,
    )
