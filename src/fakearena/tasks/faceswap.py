"""Face swap: a shared encoder and one decoder per identity, trained to reconstruct each face.

Training reconstructs each person's faces with that person's decoder from randomly warped
inputs (`fakearena.data.transforms.warp`); a swap encodes person A and decodes with B's
decoder. With `crop` the network sees only a box of each image
(`fakearena.data.transforms.face_crop`), and its metrics are the box's; `loss_weights` mask
the loss to the face and weigh detail (`fakearena.tasks.faceswap_loss_weights`); `blend` is
the recipe `fakearena generate` pastes swaps back with (`fakearena.generation.swapper`), kept
in the checkpoint. The data comes from `fakearena.data.identities.IdentityDataModule`
(identity-balanced batches of the chosen people's real faces; `conf/task/faceswap.yaml`
selects it). The checkpoint is chosen on `val/mse`; validation also logs PSNR and SSIM overall
and per identity and saves a swap preview grid (A, A->A, A->B, B, B->B, B->A) under
`<run>/previews/` every epoch. A network that predicts a face mask (`generator.mask=true`)
learns it from each row's mask target (`fakearena.tasks.faceswap_mask`), its reconstruction
loss is weighted by that target, and its swaps can be pasted through the predicted mask
(`task.blend.mask`). `latent_adversary_weight` and `swap_identity_weight` push swaps to carry
the donor's identity (`fakearena.tasks.faceswap_identity`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn
from torchvision.utils import make_grid

from fakearena.data.transforms.face_crop import FaceCrop
from fakearena.data.transforms.warp import (
    AffineParams,
    WarpParams,
    augment_pair,
    seeded_generator,
)
from fakearena.errors import ConfigError
from fakearena.generation.blend import MASK_MODES, EllipseMask, blend_options, mask_mode
from fakearena.metrics.reconstruction import METRICS, image_metrics, summarise
from fakearena.metrics.synthetic_swap_identity import inner_face_settings
from fakearena.results import metric
from fakearena.tasks.base import Task, called_parts
from fakearena.tasks.buffers import RowBuffer
from fakearena.tasks.faceswap_identity import identity_terms
from fakearena.tasks.faceswap_loss_weights import LossWeights
from fakearena.tasks.faceswap_losses import reconstruction_loss
from fakearena.tasks.faceswap_mask import MaskTargets, mask_loss
from fakearena.tasks.preview_layout import PREVIEW_PADDING
from fakearena.tasks.stability import ensure_finite_loss
from fakearena.utils.io import atomic_write_png
from fakearena.utils.log_images import log_image

WARP_KEYS = {"warp_points": "points", "warp_scale": "scale"}
LR_SCHEDULES = ("constant", "cosine")
AFFINE_KEYS = ("rotation", "zoom", "shift", "flip")


def _plain(value: Any) -> Any:
    """Config containers -> plain Python (checkpoint hyper-parameters load weights-only)."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def augmentation(options: Mapping[str, Any] | None) -> tuple[AffineParams, WarpParams]:
    """Affine and warp parameters from the task's `augment` mapping."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(WARP_KEYS) - set(AFFINE_KEYS))
    if unknown:
        raise ConfigError(
            f"task.augment has unknown key(s) {unknown}; keys are "
            f"{sorted([*WARP_KEYS, *AFFINE_KEYS])}"
        )
    warp = WarpParams(**{WARP_KEYS[k]: v for k, v in options.items() if k in WARP_KEYS})
    affine = AffineParams(**{k: v for k, v in options.items() if k in AFFINE_KEYS})
    return affine, warp


def metric_buffer() -> RowBuffer:
    """Per-face identity code and reconstruction metrics, keyed by row."""
    return RowBuffer(("identity", *METRICS))


def summarise_identities(
    buffer: RowBuffer, names: list[str], stage: str
) -> dict[str, tuple[float, int]]:
    """`{stage/metric: (value, n)}` overall and `{stage/metric/<identity>: ...}` per identity."""
    _, values = buffer.gather()
    codes = values["identity"].astype(np.int64)
    out: dict[str, tuple[float, int]] = {}
    groups = [("", codes >= 0)] + [(f"/{name}", codes == c) for c, name in enumerate(names)]
    for suffix, rows in groups:
        if rows.any():
            summary = summarise(values["mse"][rows], values["ssim"][rows])
            for key, value in summary.items():
                out[f"{stage}/{key}{suffix}"] = (float(value), int(rows.sum()))
    return out


class FaceSwapTask(Task):
    """Shared-encoder, per-identity-decoder autoencoder training and swapping.

    Args:
        net: a face-swap network (contract in `fakearena.models.generators.faceswap_ae`).
        optimizer: partial optimizer factory taking the parameters (None for inference).
        identities: the people, in decoder order (None: chosen by the data module).
        n_identities: how many people; the network has that many decoders, or one shared.
        loss: "mse" (default) or "l1".
        ssim_weight: weight w of `(1 - SSIM)` mixed into the loss as `(1-w) base + w (1-SSIM)`.
        loss_weights: center, axes, feather, outside, detail (`LossWeights`; None: uniform).
            With a mask-predicting network, each row's mask target replaces the ellipse
            (which stays the fallback target of rows without one).
        mask_loss_weight: weight of the predicted mask's cross entropy to its target (used
            when the network predicts a mask).
        latent_adversary_weight: scale of the reversed gradient of a latent identity
            classifier reaching the encoder (0: off; `fakearena.tasks.faceswap_identity`).
        swap_identity_weight: weight of the swaps' cross entropy to their donors under an
            identity classifier trained in the run on the real training faces (0: off).
        swap_identity_blur: std in pixels of a Gaussian low-pass before that classifier, on
            real faces and swaps alike (0: none).
        swap_identity_fake_class: that classifier also learns to name swaps as swaps (one
            more class), so it adapts instead of being fooled.
        crop: center, size of the box the network sees (`FaceCrop`; None: the whole image).
        blend: how generated swaps are pasted back (`fakearena.generation.blend.blend_options`).
        augment: warp_points, warp_scale, rotation, zoom, shift, flip (see
            `fakearena.data.transforms.warp`).
        lr_schedule: "constant", or "cosine": the learning rate falls to 0 along a half cosine
            over the run's planned steps (a short run ends on a settled network).
        face_metrics_n: held-out swaps measured as the face-swap papers do at test time
            (`fakearena.generation.heldout_swaps`; 0: none).
        identity_model: options of the synthetic inner-face model those metrics embed
            synthetic faces with (fields of `IdentityModelSettings`; None: the defaults;
            `fakearena.metrics.synthetic_swap_identity.inner_face_settings`).
        identity_model_cache: its folder (None: `$FAKEARENA_CACHE/identity`).
        preview_faces: faces per identity in the swap preview grid (0: no preview).
        seed: seed of the augmentation draws (with the step and rank).
        monitor: metric key that selects the checkpoint.
        monitor_mode: "min" for reconstruction error.
        name: task name recorded in results.json.
    """

    model_group = "generator"
    # a batch need not hold every person, so some decoders get no gradient in a step
    ddp_find_unused_parameters = True

    def __init__(
        self,
        *,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        identities: Sequence[str] | None = None,
        n_identities: int = 2,
        loss: str = "mse",
        ssim_weight: float = 0.0,
        loss_weights: Mapping[str, Any] | None = None,
        mask_loss_weight: float = 1.0,
        latent_adversary_weight: float = 0.0,
        swap_identity_weight: float = 0.0,
        swap_identity_blur: float = 0.0,
        swap_identity_fake_class: bool = False,
        crop: Mapping[str, Any] | None = None,
        blend: Mapping[str, Any] | None = None,
        augment: Mapping[str, Any] | None = None,
        lr_schedule: str = "constant",
        face_metrics_n: int = 256,
        identity_model: Mapping[str, Any] | None = None,
        identity_model_cache: str | None = None,
        preview_faces: int = 4,
        seed: int = 0,
        monitor: str = "val/mse",
        monitor_mode: str = "min",
        name: str = "faceswap",
    ):
        identities, augment = _plain(identities), _plain(augment)
        identity_model = _plain(identity_model)
        loss_weights, crop, blend = _plain(loss_weights), _plain(crop), _plain(blend)
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer"])
        for attribute in ("encode", "decode", "n_decoders", "image_size"):
            if not hasattr(net, attribute):
                raise ConfigError(
                    f"generator {type(net).__name__} lacks `{attribute}`; task=faceswap needs a "
                    "face-swap network (generator=faceswap_ae or generator=seed_conv_ae)"
                )
        if net.n_decoders not in (1, int(n_identities)):
            raise ConfigError(
                f"the generator has {net.n_decoders} decoders but task.n_identities="
                f"{n_identities}; set generator.n_decoders={n_identities} (or 1 to share one)"
            )
        self.net = net
        self.optimizer_factory = optimizer
        self.affine, self.warp = augmentation(augment)
        self.loss_weights = LossWeights.from_options(loss_weights)
        self.face_crop = FaceCrop.from_options(crop)
        self.predicts_mask = bool(getattr(net, "predicts_mask", False))
        if mask_loss_weight < 0:
            raise ConfigError(f"task.mask_loss_weight={mask_loss_weight} must be >= 0")
        fallback = EllipseMask(
            center=self.loss_weights.center,
            axes=self.loss_weights.axes,
            feather=self.loss_weights.feather,
        )
        self.mask_targets = MaskTargets(fallback, self.model_view)
        blend_options(blend)  # a bad recipe fails now, not after training
        if mask_mode(blend) != MASK_MODES[0] and not self.predicts_mask:
            raise ConfigError(
                f"task.blend.mask={mask_mode(blend)} pastes through the predicted mask, but "
                "this generator predicts none; set generator.mask=true or task.blend.mask=ellipse"
            )
        if int(face_metrics_n) < 0:
            raise ConfigError(f"task.face_metrics_n={face_metrics_n} must be >= 0 (0: none)")
        inner_face_settings(0, 64, identity_model, "task.identity_model")  # bad options fail now
        if lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"task.lr_schedule={lr_schedule!r}; use one of {list(LR_SCHEDULES)}")
        reconstruction_loss(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8), loss, ssim_weight)
        self.identity_terms = identity_terms(
            net,
            int(n_identities),
            fallback,
            latent_adversary_weight,
            swap_identity_weight,
            swap_identity_blur,
            swap_identity_fake_class,
        )
        self.val_buffer, self.test_buffer = metric_buffer(), metric_buffer()
        self.init_summary: dict[str, tuple[float, int]] = {}
        self.best_val: dict[str, tuple[float, int]] = {}
        self.preview_paths: list[Path] = []
        self._preview: dict[int, list[torch.Tensor]] = {}

    def compiled_modules(self) -> list[nn.Module]:
        """The parts a step calls one by one (`compile=true`)."""
        return called_parts(self.net)

    @property
    def identity_names(self) -> list[str]:
        return list(self.hparams.identities or [])

    def decoder_of(self, identity: int) -> int:
        """Decoder index of identity `identity` (0 for a network with one shared decoder)."""
        return int(identity) if self.net.n_decoders > 1 else 0

    def reconstruct(self, images: torch.Tensor, identities: torch.Tensor) -> torch.Tensor:
        """Each image decoded by its own identity's decoder."""
        return self.decode_own(self.net.encode(images), identities)

    def decode_own(self, latent: torch.Tensor, identities: torch.Tensor) -> torch.Tensor:
        """Each row of `latent` decoded by its own identity's decoder."""
        size = int(self.net.image_size)
        decoders = identities if self.net.n_decoders > 1 else torch.zeros_like(identities)
        out = latent.new_empty((len(latent), 3, size, size))
        for decoder in decoders.unique().tolist():
            rows = decoders == decoder
            out[rows] = self.net.decode(latent[rows], int(decoder)).to(out.dtype)
        return out

    def reconstruct_with_mask(
        self, images: torch.Tensor, identities: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each image and its predicted mask, decoded by its own identity's decoder."""
        return self.decode_own_with_mask(self.net.encode(images), identities)

    def decode_own_with_mask(
        self, latent: torch.Tensor, identities: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each row of `latent` and its predicted mask, decoded by its own identity's decoder."""
        size = int(self.net.image_size)
        decoders = identities if self.net.n_decoders > 1 else torch.zeros_like(identities)
        out = latent.new_empty((len(latent), 3, size, size))
        masks = latent.new_empty((len(latent), 1, size, size))
        for decoder in decoders.unique().tolist():
            rows = decoders == decoder
            rgb, mask = self.net.decode_with_mask(latent[rows], int(decoder))
            out[rows], masks[rows] = rgb.to(out.dtype), mask.to(out.dtype)
        return out, masks

    def swap_with_mask(
        self, images: torch.Tensor, target: int, source: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The swap of `images` (the network's view) to identity `target` and the predicted
        (B,1,h,w) mask of the swapped face; with `source`, the mask is multiplied by the mask
        the network predicts for the face as itself (identity `source`)."""
        latent = self.net.encode(images)
        face, mask = self.net.decode_with_mask(latent, self.decoder_of(target))
        if source is not None:
            mask = mask * self.net.decode_with_mask(latent, self.decoder_of(source))[1]
        return face, mask

    def swap_image_with_mask(
        self, images: torch.Tensor, target: int, source: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole (B,3,H,W) images swapped to `target` (as `swap_image`) and the (B,1,H,W)
        predicted mask in image coordinates (0 outside the crop box)."""
        face, mask = self.swap_with_mask(self.model_view(images), target, source)
        zeros = images.new_zeros((len(images), 1, *images.shape[-2:]))
        if self.face_crop is not None:
            return self.face_crop.paste(images, face), self.face_crop.paste(zeros, mask)
        size = tuple(images.shape[-2:])
        if tuple(face.shape[-2:]) != size:
            face = F.interpolate(face, size=size, mode="bilinear", align_corners=False)
            mask = F.interpolate(mask, size=size, mode="bilinear", align_corners=False)
        return face.clamp(0.0, 1.0), mask.clamp(0.0, 1.0)

    def swap(self, images: torch.Tensor, target: int) -> torch.Tensor:
        """The faces of `images` decoded as identity `target` (index into the identities).

        `images` are what the network sees (its input size: crops when `crop` is set).
        """
        return self.net.decode(self.net.encode(images), self.decoder_of(target))

    def model_view(self, images: torch.Tensor) -> torch.Tensor:
        """What the network sees of (B,3,H,W) images: the crop box, or the image itself."""
        size = int(self.net.image_size)
        if self.face_crop is None:
            if tuple(images.shape[-2:]) == (size, size):
                return images
            return F.interpolate(
                images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
            )
        return self.face_crop.crop(images, size)

    def swap_image(self, images: torch.Tensor, target: int) -> torch.Tensor:
        """Whole (B,3,H,W) images of any size with their face swapped to identity `target`.

        The box (or the whole image) is resized to the network, swapped, resized back and
        pasted in; outside the box the images are unchanged.
        """
        size = int(self.net.image_size)
        if self.face_crop is not None:
            return self.face_crop.paste(images, self.swap(self.model_view(images), target))
        resized = images
        if tuple(images.shape[-2:]) != (size, size):
            resized = F.interpolate(
                images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
            )
        out = self.swap(resized, target)
        if tuple(images.shape[-2:]) != (size, size):
            out = F.interpolate(out, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return out.clamp(0.0, 1.0)

    def forward(self, images: torch.Tensor, target: int = 0) -> torch.Tensor:
        return self.swap(images, target)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if datamodule is None or not hasattr(datamodule, "identity_names"):
            raise ConfigError(
                "task=faceswap needs identity-labelled data from "
                "fakearena.data.identities.IdentityDataModule (conf/task/faceswap.yaml sets "
                "data._target_ to it); do not override data._target_"
            )
        datamodule.manifest  # noqa: B018 - resolves the identities, raises on bad data
        if self.identity_terms is not None:
            people = getattr(datamodule, "people_per_batch", None)
            self.identity_terms.check_people_per_batch(people)
        if self.predicts_mask and hasattr(datamodule, "request_training_targets"):
            datamodule.request_training_targets(("face_mask",))
        names = list(datamodule.identity_names)
        if self.hparams.identities is not None and list(self.hparams.identities) != names:
            raise ConfigError(
                f"task.identities={list(self.hparams.identities)} but the data serves {names}; "
                "set data.identities=${task.identities}"
            )
        self.hparams["identities"] = names
        if datamodule.channels != 3 or (
            self.face_crop is None and int(datamodule.image_size) != int(self.net.image_size)
        ):
            raise ConfigError(
                f"the data serves {datamodule.channels}-channel {datamodule.image_size}x"
                f"{datamodule.image_size} images but the generator expects 3-channel "
                f"{self.net.image_size}x{self.net.image_size}; set data.image_size="
                f"{self.net.image_size} (or generator.image_size=${{data.image_size}}), "
                "data.channels=3"
            )

    def training_step(self, batch: dict[str, Any], batch_idx: int):
        if not self.note_skipped("train", batch):
            return None
        generator = seeded_generator(self.hparams.seed, self.global_step, self.global_rank)
        faces = self.model_view(batch["image"])
        if self.predicts_mask:
            loss, latent, targets = self._masked_step(batch, faces, generator)
        else:
            inputs, targets = augment_pair(faces, generator, self.affine, self.warp)
            latent = self.net.encode(inputs)
            recon = self.decode_own(latent, batch["identity"])
            loss = reconstruction_loss(
                recon,
                targets,
                self.hparams.loss,
                self.hparams.ssim_weight,
                weights=self.loss_weights(targets),
            )
        if self.identity_terms is not None:
            terms, logged = self.identity_terms.losses(
                latent, batch["identity"], targets, self._decode_as, generator
            )
            loss = loss + terms
            for name, value in logged.items():
                self.log(f"train/{name}", value, batch_size=len(faces))
        ensure_finite_loss(
            self, loss, "training", "Lower task.optimizer.lr or check the data for corrupt images"
        )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(faces))
        return loss

    def _decode_as(self, latent: torch.Tensor, person: int) -> torch.Tensor:
        """`latent` decoded as person `person` (RGB)."""
        return self.net.decode(latent, self.decoder_of(person))

    def _masked_step(
        self, batch: dict[str, Any], faces: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction loss weighted by each row's mask target, plus the mask's own loss
        (the mask is warped with its face); with the latent and the RGB targets."""
        masks = self.mask_targets(batch, int(faces.shape[-1])).to(faces.dtype)
        inputs, targets = augment_pair(
            torch.cat([faces, masks], 1), generator, self.affine, self.warp
        )
        targets, target_masks = targets[:, :3], targets[:, 3:]
        latent = self.net.encode(inputs[:, :3])
        recon, predicted = self.decode_own_with_mask(latent, batch["identity"])
        loss = reconstruction_loss(
            recon,
            targets,
            self.hparams.loss,
            self.hparams.ssim_weight,
            weights=self.loss_weights(targets, mask=target_masks),
        )
        shape_loss = mask_loss(predicted, target_masks)
        self.log("train/mask_bce", shape_loss, batch_size=len(inputs))
        return loss + float(self.hparams.mask_loss_weight) * shape_loss, latent, targets

    def _evaluate(self, batch: dict[str, Any], buffer: RowBuffer, identity: bool = False) -> None:
        """Reconstruction metrics of a batch; with `identity`, also the identity terms'."""
        faces = self.model_view(batch["image"])
        latent = self.net.encode(faces)
        recon = self.decode_own(latent, batch["identity"])
        metrics = image_metrics(recon, faces)
        buffer.add(batch["index"], identity=batch["identity"], **metrics)
        if identity and self.identity_terms is not None:
            self.identity_terms.evaluate(
                batch["index"],
                latent,
                batch["identity"],
                faces,
                self._decode_as,
                int(self.hparams.n_identities),
            )

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if not self.note_skipped("val", batch):
            return
        self._evaluate(batch, self.val_buffer, identity=True)
        if self.hparams.preview_faces > 0:
            for image, code in zip(batch["image"], batch["identity"].tolist()):
                kept = self._preview.setdefault(int(code), [])
                if len(kept) < self.hparams.preview_faces:
                    kept.append(image.detach())

    def on_validation_epoch_end(self) -> None:
        summary = summarise_identities(self.val_buffer, self.identity_names, "val")
        self.val_buffer.reset()
        if self.identity_terms is not None:
            summary.update(self.identity_terms.summary("val"))
        for key, (value, _) in summary.items():
            self.log(key, value, prog_bar=key == "val/mse", sync_dist=False)
        best = self.best_val.get("val/mse", (float("inf"), 0))[0]
        if "val/mse" in summary and summary["val/mse"][0] < best:
            self.best_val = summary
        if self.trainer.is_global_zero and not self.trainer.sanity_checking:
            self.save_preview(Path(self.trainer.default_root_dir) / "previews")
        self._preview = {}

    @torch.no_grad()
    def preview_grid(self, faces_a: torch.Tensor, faces_b: torch.Tensor) -> torch.Tensor:
        """(3,H',W') grid: one row per face pair: A, A->A, A->B, B, B->B, B->A (crops when
        the network sees a crop)."""
        faces_a, faces_b = self.model_view(faces_a), self.model_view(faces_b)
        columns = [  # in the order of PREVIEW_COLUMNS
            faces_a,
            self.swap(faces_a, 0),
            self.swap(faces_a, 1),
            faces_b,
            self.swap(faces_b, 1),
            self.swap(faces_b, 0),
        ]
        tiles = torch.stack(columns, 1).flatten(0, 1).float().clamp(0, 1).cpu()
        return make_grid(tiles, nrow=len(columns), padding=PREVIEW_PADDING, pad_value=1.0)

    def save_preview(self, folder: Path) -> Path | None:
        """Write the swap preview of identities 0 and 1 for this epoch; returns its path."""
        if 0 not in self._preview or 1 not in self._preview:
            return None
        n = min(len(self._preview[0]), len(self._preview[1]))
        grid = self.preview_grid(
            torch.stack(self._preview[0][:n]), torch.stack(self._preview[1][:n])
        )
        pixels = grid.mul(255).round().byte().permute(1, 2, 0).numpy()
        path = atomic_write_png(folder / f"swap_epoch{self.current_epoch:03d}.png", pixels)
        log_image(self.loggers, "swap_preview", pixels, step=self.global_step)
        self.preview_paths.append(path)
        return path

    def on_train_start(self) -> None:
        """Record the reconstruction metrics of the untrained network (`init/...`)."""
        datamodule = self.trainer.datamodule
        if self.global_step > 0 or datamodule is None:
            return
        buffer = metric_buffer()
        with torch.no_grad():
            for batch in datamodule.val_dataloader():
                if "image" in batch:
                    batch = self.transfer_batch_to_device(batch, self.device, 0)
                    self._evaluate(self.on_after_batch_transfer(batch, 0), buffer)
        self.init_summary = summarise_identities(buffer, self.identity_names, "init")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self.note_skipped("test", batch):
            self._evaluate(batch, self.test_buffer)

    def on_test_epoch_end(self) -> None:
        summary = summarise_identities(self.test_buffer, self.identity_names, "test")
        self.test_buffer.reset()
        self.test_metrics = {key: metric(value, n=n) for key, (value, n) in summary.items()}
        for key, (value, _) in summary.items():
            self.log(key, value, sync_dist=False)

    def heldout_metrics(self, datamodule: Any) -> dict[str, dict[str, Any]]:
        """The best weights' swaps of the held-out test faces: scored against their true
        swaps (`test/truth_psnr`, ...; synthetic faces only), and as the face-swap papers
        score them (`test/id_top1`, ...; `fakearena.generation.heldout_swaps`): what a fake
        set of this run will show."""
        from fakearena.generation.heldout_swaps import heldout_face_metrics
        from fakearena.generation.swapper import heldout_truth_metrics

        metrics = heldout_truth_metrics(self, datamodule)
        metrics.update(
            heldout_face_metrics(
                self,
                datamodule,
                limit=int(self.hparams.get("face_metrics_n", 256)),
                identity_model=self.hparams.get("identity_model"),
                cache=self.hparams.get("identity_model_cache"),
            )
        )
        return metrics

    def result_metrics(self) -> dict[str, dict[str, Any]]:
        """Untrained (`init/...`) and best-epoch validation metrics, overall and per identity."""
        entries = {**self.init_summary, **self.best_val}
        entries.pop(self.hparams.monitor, None)  # train.py records the monitored value itself
        out = {key: metric(value, n=n) for key, (value, n) in entries.items()}
        if self.predicts_mask:
            seen = self.mask_targets.rows_from_data + self.mask_targets.rows_fallback
            # the fraction of training rows whose mask target came from the data (the rest:
            # the fallback ellipse of task.loss_weights)
            out["train/mask_target_from_data"] = metric(self.mask_targets.data_fraction(), n=seen)
        return out

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise RuntimeError("this FaceSwapTask was built for inference (optimizer=None)")
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.hparams.lr_schedule == "constant":
            return optimizer
        total = float(self.trainer.estimated_stepping_batches)
        if not math.isfinite(total) or total < 1:
            raise ConfigError(
                "task.lr_schedule=cosine needs a known number of steps; set trainer.max_epochs "
                "or trainer.max_steps (or task.lr_schedule=constant)"
            )

        def factor(step: int) -> float:
            return 0.5 * (1.0 + math.cos(math.pi * min(step / total, 1.0)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
