"""FID in bf16? The protocol error of bf16 autocast Inception features against fp32.

    python benchmarks/fid_precision.py [--n 200]

Features of `n` synthetic real faces and `n` blended fakes (64 px, the built-in renderer, seed
0) are computed twice with the project's extractor: fp32 (the protocol) and under bf16
autocast (what a GPU's bf16 path computes: bf16 inputs and weights, fp32 accumulation). The
FID of each pair is compared with `FID_TOLERANCE` (0.1% of the value): bf16 would be used for
FID only below it. On a CPU without bf16 instructions the bf16 pass is slow (about an hour for
n=200 on 2 shared cores); the error itself does not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS_DIR, ensure_importable, machine_info, write_json

ensure_importable()

import numpy as np  # noqa: E402
import torch  # noqa: E402


def features(extractor, images: list[np.ndarray], bf16: bool) -> np.ndarray:
    from fakearena.metrics.inception import preprocess

    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    out = []
    for start in range(0, len(x), 50):
        inputs = preprocess(x[start : start + 50])
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out.append(extractor.embed(inputs).float())
        else:
            out.append(extractor.embed(inputs).float())
    return torch.cat(out).double().numpy()


def main(argv: list[str] | None = None) -> int:
    from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest
    from fakearena.metrics.fid import FeatureStats, fid_from_stats
    from fakearena.metrics.inception import FID_TOLERANCE, InceptionFeatures

    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    n = args.n
    manifest = synthetic_manifest(n_identities=10, per_identity=2 * n // 10, seed=0, size=64)
    renderer = SyntheticRenderer(size=64, seed=0)
    rows = manifest.frame.to_dict("records")
    real = [renderer.render_row(r) for r in rows if r["label"] == 0][:n]
    fake = [renderer.render_row(r) for r in rows if r["label"] == 1][:n]
    extractor = InceptionFeatures(batch_size=50)

    def fid(a: np.ndarray, b: np.ndarray) -> float:
        stats = FeatureStats.from_features(a), FeatureStats.from_features(b)
        return float(fid_from_stats(*stats)["fid"])

    start = time.perf_counter()
    fp32 = [features(extractor, real, False), features(extractor, fake, False)]
    fp32_seconds = time.perf_counter() - start
    start = time.perf_counter()
    bf16 = [features(extractor, real, True), features(extractor, fake, True)]
    bf16_seconds = time.perf_counter() - start
    result = {
        "n": n,
        "fid_fp32": fid(*fp32),
        "fid_bf16": fid(*bf16),
        "fid_real_fp32_vs_real_bf16": fid(fp32[0], bf16[0]),
        "feature_max_abs_diff": float(np.abs(fp32[0] - bf16[0]).max()),
        "feature_rel_l2": float(np.linalg.norm(fp32[0] - bf16[0]) / np.linalg.norm(fp32[0])),
        "fp32_seconds": fp32_seconds,
        "bf16_seconds": bf16_seconds,
    }
    result["relative_error"] = abs(result["fid_bf16"] - result["fid_fp32"]) / result["fid_fp32"]
    result["tolerance"] = FID_TOLERANCE
    result["decision"] = "bf16" if result["relative_error"] <= FID_TOLERANCE else "fp32, TF32 off"
    print(json.dumps(result, indent=1))
    record = {"benchmark": "fid_precision", "machine": machine_info(), **result}
    path = RESULTS_DIR / "fid_precision.json"
    write_json(path, record)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
