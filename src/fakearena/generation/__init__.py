"""Fake sets: a generator checkpoint -> image files plus a manifest (`fakearena generate`).

`fakearena generate ckpt=PATH n=N out=DIR seed=S` reads the checkpoint safely, finds its task
(`fakearena.tasks.checkpoints.checkpoint_task`) and calls that task's module from
`GENERATORS`. Every module there provides the same function:

    generate_fake_set(task, cfg, checkpoint, out_dir) -> Path

- `task`: the restored LightningModule (eval mode, CPU; `restore_task`), to move to a device
  if the module wants one;
- `cfg`: the composed `conf/generate.yaml` (keys `n`, `seed`, `split`, `batch_size`, `name`,
  `device`, `overwrite`, and `data` when given: a face-swap generator reads its source faces there);
- `checkpoint`: a `CheckpointInfo` (path, sha256, task name);
- `out_dir`: the folder to write, created if missing;
- returns the path of the manifest CSV written (its card beside it).

Promises of every implementation: label 1 on every row; `source` = `<task>/<generator name>`;
one `video_id` per generated image (or per generated video); the card's `provenance` records
the checkpoint sha256, the seed and the command; the same checkpoint, seed and n give
byte-identical files; rows are assigned to splits by `split_assignment`. `FakeSetWriter`
(in `fakearena.generation.fakeset`) does the file/manifest part and makes a run resumable.
"""

from __future__ import annotations

GENERATORS: dict[str, str] = {
    "gan": "fakearena.generation.gan:generate_fake_set",
    "faceswap": "fakearena.generation.faceswap:generate_fake_set",
    "diffusion": "fakearena.generation.diffusion:generate_fake_set",
}
