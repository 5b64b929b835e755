"""Built-in synthetic faces: procedural people and blended fakes, so the suite runs offline.

Modules: `params` (the random traits of a person and of one photo), `paint` (drawing a
person into a photo in numpy), `blend` (the self-blended fake and the true swap's person),
`renderer` (`SyntheticRenderer`: any row by seed, identity and index, and the true swap of a
fake row), `dataset` (in-memory manifests split by identity, and `fakearena data synth`,
which writes them as PNG files).

Manifests of synthetic faces are in memory (`root=None`): the extra integer columns
`synth_seed, synth_identity, synth_index, synth_donor` (-1 for reals) say what to render.
"""

from fakearena.data.synthetic.dataset import (
    EXTRA_COLUMNS,
    check_split_counts,
    identity_splits,
    synthetic_card,
    synthetic_manifest,
    write_rendered,
    write_synthetic_dataset,
)
from fakearena.data.synthetic.renderer import (
    SOURCE_FAKE,
    SOURCE_REAL,
    SyntheticRenderer,
    is_synthetic_row,
    synth_key,
)
from fakearena.data.synthetic.shots import (
    SWAP_TARGET,
    generator_shots_manifest,
    swap_sources_manifest,
)

__all__ = [
    "EXTRA_COLUMNS",
    "SOURCE_FAKE",
    "SOURCE_REAL",
    "SWAP_TARGET",
    "SyntheticRenderer",
    "check_split_counts",
    "generator_shots_manifest",
    "identity_splits",
    "is_synthetic_row",
    "swap_sources_manifest",
    "synth_key",
    "synthetic_card",
    "synthetic_manifest",
    "write_rendered",
    "write_synthetic_dataset",
]
