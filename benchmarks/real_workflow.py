"""The README's real-video workflow, run on two real videos with timings: two people's videos ->
face crops -> a face swap trained on them -> a converted deepfake video -> detector scores.

    python -m benchmarks.real_workflow --videos A.mp4 B.mp4 --detectors DIR [DIR ...]

Each step is the `fakearena` command the README shows (run in a subprocess, as a user would);
the JSON (`benchmarks/results/real_workflow.json`) records every command, its wall time, the
machine and load, the swap's quality (its results.json), the conversion summary and each
detector's verdict on the converted video. Default videos: the fixtures `ffpp_mini` 004 (the
target) and `dfdc_real/lynaeydofd` (the donor) beside the repository (`../shared/fixtures`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from benchmarks._common import RESULTS_DIR, load_average, machine_info, write_json

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
DEFAULT_VIDEOS = (
    FIXTURES / "ffpp_mini" / "original_sequences" / "youtube" / "c23" / "videos" / "004.mp4",
    FIXTURES / "dfdc_real" / "lynaeydofd.mp4",
)


def fakearena(*args: str, log: list, cwd: Path) -> subprocess.CompletedProcess:
    """Run one `fakearena` command, time it, record it; stop the workflow when it fails."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "fakearena.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ, WANDB_MODE="offline"),
    )
    seconds = round(time.perf_counter() - start, 1)
    log.append({"command": "fakearena " + " ".join(args), "seconds": seconds})
    print(f"{seconds:7.1f} s  fakearena {' '.join(args)}", flush=True)
    if result.returncode != 0:
        raise SystemExit(f"step failed:\n{result.stderr[-3000:]}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", nargs=2, type=Path, default=list(DEFAULT_VIDEOS))
    parser.add_argument("--detectors", nargs="*", type=Path, default=[])
    parser.add_argument("--work", type=Path, default=Path("outputs/real_workflow"))
    parser.add_argument("--frames", type=int, default=48, help="face crops per video")
    parser.add_argument("--epochs", type=int, default=20, help="face-swap epochs of 480 faces")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "real_workflow.json")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    (work / "videos").mkdir(parents=True, exist_ok=True)
    target, donor = (video.stem for video in args.videos)
    for video in args.videos:
        link = work / "videos" / video.name
        if not link.exists():
            link.symlink_to(video.resolve())
    (work / "videos" / "people.csv").write_text(
        "path,label,identity\n" + "".join(f"{v.name},real,{v.stem}\n" for v in args.videos)
    )
    log: list = []
    record = {"machine": machine_info(), "load_average_start": load_average(), "steps": log}
    run = partial(fakearena, log=log, cwd=work)
    # the README's commands, relative to the work folder
    run("data", "build", "folder", "csv=videos/people.csv", "out=people", "split=train")
    run("faces", "extract", "input=people/videos.csv", "out=faces",
        f"frames_per_video={args.frames}", "size=128")
    run("train", "task=faceswap", "data=manifest", "data.manifests=[faces/people.csv]",
        f"task.identities=[{target},{donor}]", f"trainer.max_epochs={args.epochs}",
        "data.epoch_size=480", "hydra.run.dir=swap")
    run("generate", "ckpt=swap", "data=manifest", "data.manifests=[faces/people.csv]",
        "split=all", "out=fakes", "name=swaps")
    run("convert", "ckpt=swap", f"video=videos/{args.videos[0].name}", f"donor={donor}",
        f"target={target}", "out=converted")
    record["swap"] = json.loads((work / "swap" / "results.json").read_text())["metrics"]
    record["fake_set"] = json.loads((work / "fakes" / "results.json").read_text())["metrics"]
    record["convert"] = json.loads((work / "converted" / "convert.json").read_text())
    video = Path(record["convert"]["output"])
    record["detections"] = {}
    for detector in args.detectors:
        result = run("detect", str(video), f"ckpt={detector.resolve()}", "device=cpu")
        record["detections"][detector.name] = result.stdout.strip().splitlines()[-3:]
    record["load_average_end"] = load_average()
    write_json(args.out, record, indent=1)
    print(f"written: {args.out}")
    return record


if __name__ == "__main__":
    main()
