"""Who each row of a manifest shows: the identity the confound check groups rows by.

The `identity` column is not enough for fakes: GAN and diffusion samples have none, and a
face swap's row names its target while it shows the donor's inner face. So identities come
from one of three sources:

- `column`: the manifest's `identity` column, as written (real faces with known people).
- `synthetic`: the synthetic identity model (`fakearena.metrics.identity_model`) embeds every
  row, and each row takes the person of its nearest gallery centroid; the gallery is
  `GALLERY_SHOTS` real shots, rendered at shot indices no manifest uses, of every person the
  data knows (train and test people alike, so a fake of another person lands on that person).
- `embedding`: any callable `images (N, H, W, 3) uint8 -> (N, D)` (e.g. a face recognition
  model) embeds every row; the gallery is the real rows of a gallery manifest (default: the
  set's own real rows) grouped by their `identity` column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fakearena.data.manifest import Manifest
from fakearena.errors import ConfigError, DataError

Embed = Callable[[np.ndarray], np.ndarray]
GALLERY_SHOTS = 8
GALLERY_FIRST_SHOT = 400_000  # shot indices of gallery images (no manifest draws these)
SOURCES = ("auto", "column", "synthetic", "embedding")
_CHUNK = 512


@dataclass
class IdentityAssignment:
    """An identity per row and a sentence saying where they came from."""

    names: np.ndarray
    source: str


def _missing(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype(str).str.strip().isin(["", "nan"]))


def column_identities(manifest: Manifest) -> IdentityAssignment:
    """The `identity` column; every row must have one."""
    values = manifest.frame["identity"]
    missing = _missing(values)
    if missing.any():
        first = manifest.frame["path"][missing].iloc[0]
        raise DataError(
            f"{manifest.name}: {int(missing.sum())} of {len(values)} rows have an empty "
            f"`identity` column (first: {first}); fill it, or name an identity model: "
            "identity=synthetic (synthetic faces) or embedding=MODULE:FUNCTION"
        )
    return IdentityAssignment(values.astype(str).to_numpy(), "identity column")


def row_images(manifest: Manifest, rows: Sequence[int], size: int | None = None) -> np.ndarray:
    """uint8 (len(rows), S, S, 3) images of manifest rows: files read, in-memory synthetic
    rows rendered; every image resized to S = `size` (default: the card's image size, else
    the first image's height) where it differs."""
    from PIL import Image

    from fakearena.data.media import load_image

    side = size or manifest.card.image_size
    if manifest.root is not None:
        images = [load_image(manifest.abspath(int(i))) for i in rows]
    else:
        from fakearena.data.synthetic import SyntheticRenderer

        seed = manifest.frame.get("synth_seed")
        renderer = SyntheticRenderer(int(side or 64), int(seed.iloc[0]) if seed is not None else 0)
        images = [renderer.render_row(manifest.frame.iloc[int(i)].to_dict()) for i in rows]
    side = int(side or (images[0].shape[0] if images else 64))
    return np.stack(
        [
            image
            if image.shape[:2] == (side, side)
            else np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR))
            for image in images
        ]
    )


def embed_rows(manifest: Manifest, embed: Embed, size: int | None = None) -> np.ndarray:
    """(rows, D) float embeddings of every row, computed in chunks (bounded memory)."""
    parts = []
    for start in range(0, len(manifest), _CHUNK):
        rows = range(start, min(start + _CHUNK, len(manifest)))
        parts.append(np.asarray(embed(row_images(manifest, rows, size)), dtype=np.float64))
    return np.concatenate(parts) if parts else np.zeros((0, 1))


def centroids(embeddings: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length mean embedding per name: (names, (people, D))."""
    people, inverse = np.unique(np.asarray(names, str), return_inverse=True)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    sums = np.zeros((people.size, unit.shape[1]))
    np.add.at(sums, inverse.ravel(), unit)
    return people, sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def nearest(embeddings: np.ndarray, people: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The name of the nearest centroid (cosine) of every embedding."""
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return people[np.argmax(unit @ centres.T, axis=1)]


def synthetic_people(
    frame: pd.DataFrame, n_identities: int | Iterable[int] | None = None
) -> list[int]:
    """Every synthetic person a set knows: `n_identities` (a count: 0..n-1, or the people
    themselves) plus the targets and donors its rows name (`synth_identity`, `synth_donor`)."""
    if n_identities is None or isinstance(n_identities, int):
        people = set(range(int(n_identities or 0)))
    else:
        people = {int(p) for p in n_identities}
    for column in ("synth_identity", "synth_donor"):
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce").dropna()
            people |= {int(v) for v in values if v >= 0}
    return sorted(people)


def people_from_cards(manifest: Manifest) -> int | None:
    """How many people synthetic faces were drawn from, read from the card's provenance
    (`parameters.n_identities`) or, for a union (an arena test set), from its parts' cards."""
    provenance = manifest.card.provenance or {}
    found = (provenance.get("parameters") or {}).get("n_identities")
    if found is not None:
        return int(found)
    from fakearena.data.manifest import read_manifest

    counts = []
    for ref in provenance.get("union_of") or []:
        path = ref.get("path") if isinstance(ref, dict) else None
        if path and Path(path).is_file():
            counts.append(people_from_cards(read_manifest(path)))
    counts = [c for c in counts if c is not None]
    return max(counts) if counts else None


def gallery_shots(
    people: Iterable[int], *, seed: int, size: int, shots: int = GALLERY_SHOTS
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (people * shots, size, size, 3) real shots of each synthetic person, rendered at
    shot indices no manifest uses, and the person of each."""
    from fakearena.data.synthetic import SyntheticRenderer

    people = [int(p) for p in people]
    renderer = SyntheticRenderer(size, seed)
    images = [renderer.render_face(p, GALLERY_FIRST_SHOT + k) for p in people for k in range(shots)]
    return np.stack(images), np.repeat(np.asarray(people, dtype=np.int64), shots)


def synthetic_identities(
    manifest: Manifest,
    model: Embed,
    people: Iterable[int],
    *,
    seed: int,
    size: int,
    shots: int = GALLERY_SHOTS,
) -> IdentityAssignment:
    """Each row's nearest person among rendered gallery shots of `people` (name `synthNNN`)."""
    people = list(people)
    if not people:
        raise DataError(
            f"{manifest.name}: no synthetic people to recognise; give people=N (the number of "
            "identities the faces were drawn from) or rows with synth_identity columns"
        )
    gallery, owners = gallery_shots(people, seed=seed, size=size, shots=shots)
    names = np.array([f"synth{p:03d}" for p in owners])
    known, centres = centroids(np.asarray(model(gallery), np.float64), names)
    assigned = nearest(embed_rows(manifest, model, size), known, centres)
    return IdentityAssignment(
        assigned,
        f"synthetic identity model, nearest of {len(people)} people ({shots} gallery shots each)",
    )


def embedding_identities(
    manifest: Manifest, embed: Embed, gallery: Manifest | None = None, name: str = "embedding"
) -> IdentityAssignment:
    """Each row's nearest identity among the real rows of `gallery` (default: the set itself)."""
    gallery = gallery if gallery is not None else manifest
    reals = gallery.select(label=0)
    known_rows = ~_missing(reals.frame["identity"])
    if not known_rows.any():
        raise DataError(
            f"{gallery.name}: no real row has an `identity`; the embedding needs a gallery of "
            "real faces with known people (gallery=MANIFEST with a filled identity column)"
        )
    reals = Manifest(reals.frame[known_rows].reset_index(drop=True), reals.card, reals.root)
    people, centres = centroids(embed_rows(reals, embed), reals.frame["identity"].astype(str))
    assigned = nearest(embed_rows(manifest, embed), people, centres)
    return IdentityAssignment(
        assigned, f"{name}, nearest of {people.size} people in {gallery.name}'s real rows"
    )


def resolve_source(manifest: Manifest, source: str, embed: Embed | None) -> str:
    """`auto` -> `embedding` with an embedding, `synthetic` for synthetic faces (rows with
    `synth_*` columns), else `column` when every row has an identity."""
    if source not in SOURCES:
        raise ConfigError(f"identity={source!r}; choose one of {', '.join(SOURCES)}")
    if source != "auto":
        return source
    if embed is not None:
        return "embedding"
    frame = manifest.frame
    if "synth_identity" in frame and (~_missing(frame["synth_identity"])).any():
        return "synthetic"
    if not _missing(frame["identity"]).any():
        return "column"
    raise DataError(
        f"{manifest.name}: no identity source: {int(_missing(frame['identity']).sum())} rows "
        "have no `identity` and the set has no synthetic rows; give embedding=MODULE:FUNCTION "
        "(a callable images (N, H, W, 3) uint8 -> (N, D) embeddings) or fill the column"
    )
