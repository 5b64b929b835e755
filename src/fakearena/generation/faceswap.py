"""Fake sets from a face-swap checkpoint: every face of identity A swapped to B (and B to A).

Each real row of the checkpoint's identities in the chosen split(s) is resized to the model,
encoded, decoded with the other identity's decoder (identity i -> i + 1 mod n), resized back
and blended into its own source image (`fakearena.generation.blend`). The fake rows keep the
source row's split and frame; their `video_id` is `faceswap/<set name>/<source video_id>`
(unique across fake sets), their `source` `faceswap/<generator>`, so
frame and video grouping survive and each fake maps back to its source row (also recorded in
the extra columns `source_path`, `source_video_id`, `source_identity`).

When the source faces are the built-in synthetic ones (rows with `synth_*` columns, from
`data=synthetic` or a manifest written by `fakearena data synth`), each fake row also keeps its
source's `synth_seed, synth_identity, synth_index` and names the donor's synthetic identity in
`synth_donor`: its true swap is known, and the set's truth metrics
(`fakearena.generation.truth`) go into the card's provenance and `<out>/results.json`.
Both kinds of set also get the face-swap papers' metrics there (`fake_set_face_metrics`: ID
retrieval and similarity, and on real faces pose and expression error).
Each fake's blend mask (the feathered ellipse or the predicted mask it was pasted through) is
written beside it, column `mask`.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image
from tqdm import tqdm

from fakearena.data.datasets import ManifestDataset
from fakearena.data.manifest import (
    MASK_COLUMN,
    SPLITS,
    Manifest,
    ManifestCard,
    read_manifest,
    write_manifest,
)
from fakearena.data.masks import mask_path_for, mask_png
from fakearena.errors import ConfigError, DataError
from fakearena.generation.fakeset import CheckpointInfo
from fakearena.generation.swap_literature import (
    fake_set_samples,
    literature_metrics,
    read_fakes,
    spread,
)
from fakearena.generation.swapper import (
    SYNTH_SOURCE_COLUMNS,
    Swapper,
    blend_recipe,
    swap_targets,
    synth_donors,
)
from fakearena.generation.truth import FAKES_STAGE, score_manifest, truth_metrics
from fakearena.generation.truth import write_truth_record as write_truth_record
from fakearena.metrics.synthetic_swap_identity import inner_face_settings, synthetic_id_metrics
from fakearena.utils.io import sha256_bytes
from fakearena.utils.parallel import Shard, resolve_device


def generator_name(task: Any) -> str:
    """The network's module name (faceswap_ae, seed_conv_ae), used in `source`."""
    target = str((task.hparams.get("net_config") or {}).get("_target_", "faceswap"))
    return target.rsplit(".", 2)[-2] if target.count(".") >= 1 else target


def _splits(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        raise ConfigError(
            f"split={dict(value)}: a face swap keeps the split of each source face; give the "
            "source split(s) to swap: split=train|val|test, a list of them, or all"
        )
    splits = [value] if isinstance(value, str) else list(value or [])
    if splits == ["all"]:
        splits = list(SPLITS)
    bad = [s for s in splits if s not in SPLITS]
    if not splits or bad:
        raise ConfigError(f"split={value!r}; use one of {list(SPLITS)}, a list of them, or all")
    return splits


def source_rows(task: Any, cfg: Any) -> tuple[Manifest, ManifestDataset]:
    """The real rows to swap and a dataset reading them at native size."""
    names = list(task.identity_names)
    if len(names) < 2:
        raise ConfigError("this face-swap checkpoint records fewer than two identities")
    splits = _splits(cfg.get("split", "test"))
    datamodule = instantiate(cfg.data)
    # the whole source data, also when the data config is a face-swap IdentityDataModule
    source = getattr(type(datamodule), "source_manifest", None)
    manifest = datamodule.source_manifest if source is not None else datamodule.manifest
    frame = manifest.frame
    mask = (frame["label"] == 0) & frame["identity"].isin(names) & frame["split"].isin(splits)
    rows = Manifest(frame[mask].reset_index(drop=True), manifest.card, manifest.root)
    if len(rows) == 0:
        present = sorted(frame.loc[frame["identity"].isin(names), "split"].unique())
        raise DataError(
            f"data {manifest.name} has no real rows of identities {names} in split(s) {splits} "
            f"(they have rows in {present or 'no split'}); pass split=<one of those> or data "
            "holding these people"
        )
    return manifest, datamodule.rows_dataset(rows, native_size=True)


def row_targets(
    frame: pd.DataFrame, names: list[str], codes: np.ndarray, column: str | None, where: str
) -> np.ndarray:
    """Each source row's target identity code: the next identity (i -> i + 1 mod n), or the
    identity named in `column` (e.g. the donor of the blended fake a swap mirrors)."""
    if column is None:
        targets = swap_targets(len(names))
        return np.array([targets[int(c)] for c in codes], dtype=np.int64)
    if column not in frame.columns:
        raise DataError(
            f"target_column={column!r} is not a column of data {where}; its columns: "
            f"{list(frame.columns)}"
        )
    wanted = frame[column].astype(str)
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise DataError(
            f"column {column!r} of data {where} names identities {unknown[:5]} that this "
            f"checkpoint has no decoder for; its identities: {names}"
        )
    target_codes = wanted.map(names.index).to_numpy().astype(np.int64)
    if (target_codes == codes).any():
        raise DataError(
            f"column {column!r} of data {where} swaps a face to its own identity (row "
            f"{int(np.argmax(target_codes == codes))}); give each row another person"
        )
    return target_codes


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


def generate_fake_set(
    task: Any, cfg: Any, checkpoint: CheckpointInfo, out_dir: Path, shard: Shard | None = None
) -> Path:
    """Swap the chosen split(s) and write PNGs plus the fake manifest; returns the CSV path.

    With a `shard` (several processes) batch k is made by rank k % world_size; the rows are
    gathered in batch order and rank 0 writes the manifest (and, for synthetic faces, the
    truth metrics: the card's provenance `truth` and `<out>/results.json`).

    Config keys read (`conf/generate.yaml`): `data` (the source faces), `split` (a split, a
    list, or `all`; fakes keep their source row's split), `batch_size`, `device`, `name`
    (manifest name; default `<generator>_<identities>`), `overwrite`, and optional `blend`
    (keys of `fakearena.generation.swapper.blend_options`; default: the checkpoint's
    `task.blend`), `face_metrics_n`, `identity_model`, `identity_model_cache`
    (`fake_set_face_metrics`).
    """
    if cfg.get("data") is None:
        raise ConfigError(
            "a face-swap checkpoint swaps real faces: pass their data, e.g. data=synthetic or "
            "data=manifest data.manifests=[faces.csv], and split=<the split to swap>"
        )
    start_time = time.perf_counter()
    identity_model_options(cfg)  # bad options fail before any swap is made
    generator = generator_name(task)
    names = list(task.identity_names)
    set_name = str(cfg.get("name") or f"{generator}_{'-'.join(names)}")
    out_dir = Path(out_dir)
    _claim(out_dir / f"{set_name}.csv", checkpoint, bool(cfg.get("overwrite", False)))
    manifest, dataset = source_rows(task, cfg)
    shard = shard or Shard(device=resolve_device(str(cfg.get("device") or "auto")))
    task.to(shard.device).eval()
    swapper = Swapper(task, blend_recipe(task, cfg.get("blend")))
    frame = dataset.manifest.frame
    donors = synth_donors(manifest.frame, names)
    codes = frame["identity"].map(names.index).to_numpy()
    target_codes = row_targets(frame, names, codes, cfg.get("target_column"), manifest.name)
    batch_size = int(cfg.get("batch_size") or 32)
    records: list[tuple[int, int, dict[str, Any]]] = []
    order = np.lexsort((target_codes, codes))  # batches of one source identity (and target)
    starts = range(0, len(order), batch_size)
    mine = [start for k, start in enumerate(starts) if shard.owns(k)]
    total = sum(len(order[start : start + batch_size]) for start in mine)
    progress = tqdm(total=total, desc=f"faceswap {set_name}", unit="img", disable=not shard.is_main)
    for start in mine:
        chunk = order[start : start + batch_size]
        for code, target_code in sorted(set(zip(codes[chunk], target_codes[chunk]))):
            members = [int(i) for i in chunk if (codes[i], target_codes[i]) == (code, target_code)]
            target = names[int(target_code)]
            images = [dataset.load(i) for i in members]
            fakes = swapper(images, int(target_code), int(code))
            for i, fake, mask in zip(members, fakes, swapper.masks_used):
                record = _record(frame.iloc[i], fake, target, generator, set_name, out_dir)
                record[MASK_COLUMN] = _write_mask(out_dir, record["path"], mask)
                if donors is not None:
                    record["synth_donor"] = donors[target]
                records.append((start, len(records), record))
        progress.update(len(chunk))
    progress.close()
    gathered = sorted(r for part in shard.gather_objects(records) for r in part)
    if not shard.is_main:
        shard.barrier()  # rank 0 writes the manifest
        return out_dir / f"{set_name}.csv"
    fakes = pd.DataFrame([record for _, _, record in gathered])
    card = _card(fakes, manifest, names, swapper, generator, checkpoint, cfg, out_dir / set_name)
    result = Manifest(fakes, card, out_dir.resolve())
    metrics = truth_metrics(score_manifest(result), FAKES_STAGE) if donors is not None else {}
    if metrics:
        card.provenance["truth"] = {
            key.split("/", 1)[1]: round(entry["value"], 4)
            for key, entry in metrics.items()
            if key.count("/") == 1
        }
    people = None if donors is None else [donors[name] for name in names]
    face_metrics = fake_set_face_metrics(fakes, out_dir, dataset, people, cfg)
    if face_metrics:
        card.provenance["face_metrics"] = {
            "embedding": next(iter(face_metrics.values()))["embedding"],
            **{key.split("/", 1)[1]: round(e["value"], 4) for key, e in face_metrics.items()},
        }
        metrics.update(face_metrics)
    path = write_manifest(result, out_dir / f"{set_name}.csv")
    if metrics:
        write_truth_record(
            out_dir,
            read_manifest(path),
            metrics,
            generator=f"faceswap/{generator}",
            source_data=[manifest.reference()],
            config=OmegaConf.to_container(OmegaConf.create(cfg), resolve=True),
            seed=int(cfg.get("seed") or 0),
            wall_seconds=time.perf_counter() - start_time,
            test_set=cfg.get("name"),  # the arena names fake set and test set alike
        )
    shard.barrier()
    return path


def identity_model_options(cfg: Any) -> dict[str, Any]:
    """The `identity_model` options of a generate config, checked (a ConfigError names them)."""
    options = cfg.get("identity_model") or {}
    options = dict(OmegaConf.to_container(options) if OmegaConf.is_config(options) else options)
    inner_face_settings(0, 64, options, "identity_model")
    return options


def fake_set_face_metrics(
    fakes: pd.DataFrame,
    out_dir: Path,
    dataset: ManifestDataset,
    people: list[int] | None,
    cfg: Any,
) -> dict[str, dict[str, Any]]:
    """The face-swap papers' metrics of up to `face_metrics_n` swaps (spread evenly; 0: none).

    Real faces (`people` None): ID retrieval/similarity with dlib's network, pose and
    expression error (`fakearena.generation.swap_literature`; empty when dlib measures none).
    Synthetic faces (`people`: the synthetic person of each of the checkpoint's identities):
    ID retrieval/similarity with the synthetic inner-face model (`identity_model` options,
    cached in `identity_model_cache`; `fakearena.metrics.synthetic_swap_identity`).
    """
    limit = int(cfg.get("face_metrics_n", 256) or 0)
    if limit <= 0:
        return {}
    if people is None:
        samples, gallery = fake_set_samples(fakes, out_dir, dataset, limit)
        return literature_metrics(samples, gallery, FAKES_STAGE)
    rows = fakes.iloc[spread(len(fakes), limit)]
    return synthetic_id_metrics(
        read_fakes(rows, out_dir),
        donors=rows["synth_donor"].astype(int).tolist(),
        targets=rows["synth_identity"].astype(int).tolist(),
        people=people,
        seed=int(rows["synth_seed"].iloc[0]),
        stage=FAKES_STAGE,
        model_options=identity_model_options(cfg),
        cache=cfg.get("identity_model_cache"),
        shot_indices=rows["synth_index"].astype(int).tolist(),
    )


def _card(
    fakes: pd.DataFrame,
    manifest: Manifest,
    names: list[str],
    swapper: Swapper,
    generator: str,
    checkpoint: CheckpointInfo,
    cfg: Any,
    stem: Path,
) -> ManifestCard:
    """The fake set's card: what made it (checkpoint, command, source data, blend recipe)."""
    set_name, splits = stem.name, sorted(fakes["split"].unique().tolist())
    column = cfg.get("target_column")
    pairs = ", ".join(f"{names[a]}->{names[b]}" for a, b in swap_targets(len(names)).items())
    to = f"the identity in its column {column!r}" if column else f"the next identity ({pairs})"
    return ManifestCard(
        name=set_name,
        description=(
            f"Face swaps by {generator}: each real face of {names} in split(s) {splits} swapped "
            f"to {to} and blended back ({swapper.describe()})."
        ),
        image_size=manifest.card.image_size,
        license=manifest.card.license,
        citation=manifest.card.citation,
        provenance={
            "generator": f"faceswap/{generator}",
            "checkpoint": str(checkpoint.path),
            "checkpoint_sha256": checkpoint.sha256,
            "seed": int(cfg.get("seed") or 0),
            "command": _command(cfg, checkpoint, set_name, stem.parent),
            "source_manifest": manifest.reference(),
            "splits": splits,
            "targets": f"column {column}" if column else "next identity",
            "blend": swapper.recipe,
        },
    )


def _claim(csv_path: Path, checkpoint: CheckpointInfo, overwrite: bool) -> None:
    """Refuse to replace a set of the same name made from another checkpoint (unless overwrite,
    which removes the old manifest first)."""
    card = csv_path.with_suffix(".yaml")
    if overwrite:
        # the old manifest goes before any image is replaced: an interrupted run must not
        # leave it describing files that changed under it
        csv_path.unlink(missing_ok=True)
        card.unlink(missing_ok=True)
        return
    if not card.is_file():
        return
    previous = (yaml.safe_load(card.read_text(encoding="utf-8")) or {}).get("provenance") or {}
    if previous.get("checkpoint_sha256") != checkpoint.sha256:
        raise ConfigError(
            f"{csv_path} is a fake set made from another checkpoint; choose another out=DIR or "
            "name=, or pass overwrite=true to replace it"
        )


def _command(cfg: Any, checkpoint: CheckpointInfo, set_name: str, out_dir: Path) -> str:
    """The command that makes this set again."""
    data = cfg.data
    parts = [f"fakearena generate ckpt={checkpoint.path} out={out_dir} name={set_name}"]
    split = cfg.get("split", "test")
    parts.append(f"split={split if isinstance(split, str) else '[' + ','.join(split) + ']'}")
    if cfg.get("target_column"):
        parts.append(f"target_column={cfg.target_column}")
    if data.get("manifests"):
        parts.append(f"data=manifest data.manifests=[{','.join(map(str, data.manifests))}]")
    else:
        parts.append(f"data={data.get('name', 'synthetic')} seed={cfg.get('seed', 0)}")
    return " ".join(parts)


def _write_mask(out_dir: Path, image_path: str, mask: np.ndarray) -> str:
    """Write the blend mask beside a fake (`<image>.mask.png`); returns its manifest path."""
    path = mask_path_for(image_path)
    _write(out_dir / path, mask_png(mask))
    return path


def _record(
    row: pd.Series, fake: np.ndarray, target: str, generator: str, set_name: str, out_dir: Path
) -> dict[str, Any]:
    stem = Path(str(row["path"])).with_suffix("").as_posix().replace("/", "__")
    rel = f"images/{row['identity']}_to_{target}/{stem}.png"
    data = _png(fake)
    _write(out_dir / rel, data)
    record = {
        "path": rel,
        "label": 1,
        "split": row["split"],
        "video_id": f"faceswap/{set_name}/{row['video_id']}",
        "frame": int(row["frame"]),
        "identity": target,
        "source": f"faceswap/{generator}",
        "sha256": sha256_bytes(data),
        "source_path": row["path"],
        "source_video_id": row["video_id"],
        "source_identity": row["identity"],
    }
    if all(column in row.index for column in SYNTH_SOURCE_COLUMNS):
        record.update({column: row[column] for column in SYNTH_SOURCE_COLUMNS})
    return record
