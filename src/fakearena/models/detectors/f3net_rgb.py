"""`f3net_rgb`: fakearena's hybrid of an RGB stream and F3Net's frequency (FAD) stream.

Neither the F3Net paper (FAD + LFS + MixBlock) nor DeepfakeBench's F3Net (FAD only) has an RGB
stream; this detector adds one, so it asks whether pixels and DCT bands together beat either
alone (compare with `detector=f3net` and the plain backbone). It has about twice the parameters
of one backbone; the leaderboard flags that against the reference backbone.
"""

from __future__ import annotations

from fakearena.models.detectors.f3net import F3Net


class F3NetRGB(F3Net):
    """RGB stream + FAD stream, pooled features joined, one logit per image (`F3Net` with
    `rgb_stream=True`; both streams see the image normalised with the backbone's mean/std,
    the FAD stream its four bands, 4C channels; `pretrained_file` goes into both)."""

    def __init__(self, **options):
        super().__init__(rgb_stream=True, **options)
