"""Are the synthetic blended fakes detectable, but not trivially? Three detectors, one split.

    python benchmarks/synthetic_detectability.py [--quick] [--epochs N] [--out PATH]

Trains on the train identities of `synthetic_manifest` and scores the val+test identities
(people never seen in training) with: logistic regression on global colour statistics (mean
and std per channel, whole image and centre crop), logistic regression on 16x16 pixels, and a
small 4-block CNN. The first two should sit near chance (AUC 0.5): no shortcut in the colours;
the CNN should learn the blend boundary. Writes JSON to
benchmarks/results/synthetic_detectability.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from torch import nn

from benchmarks._common import write_json
from fakearena import __version__
from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest


def colour_statistics(images: np.ndarray) -> np.ndarray:
    whole = images.reshape(len(images), -1, 3).astype(np.float32)
    h = images.shape[1]
    centre = images[:, h // 4 : 3 * h // 4, h // 4 : 3 * h // 4].reshape(len(images), -1, 3)
    centre = centre.astype(np.float32)
    return np.concatenate([whole.mean(1), whole.std(1), centre.mean(1), centre.std(1)], 1)


def small_cnn() -> nn.Module:
    def block(i: int, o: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)
        )

    return nn.Sequential(
        block(3, 16), block(16, 32), block(32, 64), block(64, 64),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1),
    )  # fmt: skip


def train_cnn(
    x: torch.Tensor, y: torch.Tensor, train: np.ndarray, test: np.ndarray, epochs: int, seed: int
) -> list[float]:
    """Test AUC after each epoch."""
    torch.manual_seed(seed)
    net = small_cnn()
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    aucs = []
    for epoch in range(epochs):
        net.train()
        order = np.random.default_rng(seed + epoch).permutation(train)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            xb = x[batch]
            flip = torch.rand(len(batch), 1, 1, 1) < 0.5
            xb = torch.where(flip, xb.flip(3), xb)
            loss = nn.functional.binary_cross_entropy_with_logits(net(xb).squeeze(1), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            scores = torch.cat([net(x[test[i : i + 256]]) for i in range(0, len(test), 256)])
        aucs.append(float(roc_auc_score(y[test].numpy(), scores.squeeze(1).numpy())))
        print(f"  epoch {epoch + 1}: CNN test AUC {aucs[-1]:.3f}")
    return aucs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, 2 epochs (smoke)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "synthetic_detectability.json",
    )
    args = parser.parse_args(argv)
    n_identities, per_identity = (6, 40) if args.quick else (10, 200)
    epochs = args.epochs or (2 if args.quick else 12)
    manifest = synthetic_manifest(n_identities, per_identity, seed=args.seed)
    renderer = SyntheticRenderer(64, args.seed)
    start = time.perf_counter()
    images = np.stack([renderer.render_row(r) for r in manifest.frame.to_dict("records")])
    render_s = time.perf_counter() - start
    labels = manifest.frame["label"].to_numpy()
    train = np.flatnonzero(manifest.frame["split"].to_numpy() == "train")
    test = np.flatnonzero(manifest.frame["split"].to_numpy() != "train")
    results: dict[str, float | list[float]] = {}
    for name, feats in [
        ("colour_statistics_logistic", colour_statistics(images)),
        ("pixels16_logistic", images[:, ::4, ::4].reshape(len(images), -1) / 255.0),
    ]:
        model = LogisticRegression(max_iter=3000, C=0.1).fit(feats[train], labels[train])
        results[name] = float(roc_auc_score(labels[test], model.predict_proba(feats[test])[:, 1]))
        print(f"{name}: test AUC {results[name]:.3f}")
    x = torch.tensor(images).permute(0, 3, 1, 2).float() / 255.0
    y = torch.tensor(labels).float()
    start = time.perf_counter()
    results["cnn_auc_per_epoch"] = train_cnn(x, y, train, test, epochs, args.seed)
    record = {
        "benchmark": "synthetic_detectability",
        "fakearena_version": __version__,
        "quick": args.quick,
        "data": {"n_identities": n_identities, "per_identity": per_identity, "seed": args.seed,
                 "train_rows": len(train), "test_rows": len(test), "render_s": render_s},
        "epochs": epochs,
        "cnn_train_s": time.perf_counter() - start,
        "results": results,
    }  # fmt: skip
    write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
