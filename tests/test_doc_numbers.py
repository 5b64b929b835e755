"""Numbers in README.md and docs/ are read from committed results files (VALIDITY.md section 4).

Each claim renders a sentence or table row from the JSON file a named command wrote, and the
document must hold that exact text (line breaks read as spaces). A guard then checks that every
measured-looking number in README.md (dB, %, GiB, img/s, "x the floor") is one of the claimed
ones or a stated target, so a number typed by hand fails. Parameter counts are checked against
the models themselves (built on the meta device: no memory).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from fakearena.config import compose

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


@cache
def text(doc: str) -> str:
    """The document with runs of whitespace (line breaks of wrapped prose) as one space."""
    return re.sub(r"\s+", " ", (ROOT / doc).read_text(encoding="utf-8"))


@cache
def results(name: str) -> dict:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def rate(value: float) -> str:
    """Images per second as the docs print them: 2 decimals, 3 below 0.1."""
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def readme_claims() -> Iterator[tuple[str, str, str]]:
    """(doc, results file, expected text) of README.md."""
    demo = results("arena_demo/summary.json")
    yield (
        "README.md",
        "arena_demo/summary.json",
        f"arena alone took {demo['wall_seconds'] / 60:.1f} minutes on 2 cores with a peak of "
        f"{demo['peak_rss_mib'] / 1024:.1f} GiB",
    )
    swap = results("faceswap_mask40.json")
    blend = swap["blend_same_rows"]
    points = {(p["recipe"], p["epochs"]): p for p in swap["points"]}
    yield (
        "README.md",
        "faceswap_mask40.json",
        f"| blended fakes of the same rows (the reference) | - | {blend['truth_psnr']:.2f} dB | "
        f"{blend['truth_gain_db']:+.2f} dB | {blend['closer_to_truth']:.0%} |",
    )
    arena_now = "arena_ppb8_instance_ssim_adv0.1_swapid0.01"
    rows = (
        (arena_now, 20, "as the arena trains it, 20 epochs (the arena's slot)"),
        (arena_now, 80, "as the arena trains it, 80 epochs"),
        ("arena_ppb8_instance_ssim", 20, "without the identity terms, 20 epochs"),
        ("arena_ppb8_instance_ssim", 80, "without the identity terms, 80 epochs"),
        ("arena", 20, "the former recipe, 20 epochs"),
        ("arena", 80, "the former recipe, 80 epochs"),
    )
    for recipe, epochs, label in rows:
        point = points[recipe, epochs]
        yield (
            "README.md",
            "faceswap_mask40.json",
            f"| `faceswap`, {label} | {point['train_cpu_minutes']:.2f} | "
            f"{point['truth_psnr']:.2f} dB | {point['truth_gain_db']:+.2f} dB | "
            f"{point['closer_to_truth']:.0%} |",
        )
    yield (
        "README.md",
        "faceswap_mask40.json",
        f"Doing nothing (the untouched source) scores {blend['source_psnr']:.2f} dB",
    )
    longer = [points["arena_ppb8_instance_ssim_adv0.1", e] for e in (320, 640, 1280)]
    yield (
        "README.md",
        "faceswap_mask40.json",
        "({:.0f}, {:.0f} and {:.0f} CPU-min), stays at {:.0%}, {:.0%} and {:.0%} closer".format(
            *(p["train_cpu_minutes"] for p in longer), *(p["closer_to_truth"] for p in longer)
        ),
    )
    yield (
        "README.md",
        "faceswap_mask40.json",
        "ID {:.3f}, {:.3f} and {:.3f}, although".format(*(p["id_top1"] for p in longer)),
    )
    slot = results("gan_quality/slot_recipe32_t.json")["milestones"][-1]
    yield (
        "README.md",
        "gan_quality/slot_recipe32_t.json",
        f"after the slot's {slot['milestone_minutes']:g} CPU-minutes ({slot['batches']} steps) FID "
        f"{slot['train']['fid']:.1f}, {slot['train']['fid_over_floor']:.1f}x the floor, precision "
        f"{slot['train']['precision']:.2f}, recall {slot['train']['recall']:.2f}",
    )
    fid = {
        name: results(f"gan_quality/{name}.json")["milestones"][-1]["train"]["fid"]
        for name in ("slot_recipe32", "slot_recipe32_t_seed1", "slot_recipe32_seed1")
    }
    yield (
        "README.md",
        "gan_quality/slot_recipe32*.json",
        f"without translation scored {fid['slot_recipe32']:.1f} (seed 0; "
        f"{fid['slot_recipe32_t_seed1']:.1f} against {fid['slot_recipe32_seed1']:.1f} at seed 1)",
    )
    slot64 = results("gan_quality/slot_dcgan64_t.json")["milestones"][-1]
    yield (
        "README.md",
        "gan_quality/slot_dcgan64_t.json",
        f"(FID {slot64['train']['fid']:.1f} after {slot64['batches']} steps)",
    )
    curve = results("gan_quality/dcgan64_t.json")["milestones"][-1]
    before = results("gan_quality/dcgan64.json")["milestones"][-1]
    assert curve["milestone_minutes"] == before["milestone_minutes"] == 20
    yield (
        "README.md",
        "gan_quality/dcgan64_t.json",
        f"FID {curve['train']['fid']:.1f} after {curve['milestone_minutes']:g} CPU-minutes "
        f"({curve['batches']} steps), {curve['train']['fid_over_floor']:.1f}x the floor, against "
        f"{before['train']['fid']:.1f} without translation",
    )
    yield (
        "README.md",
        "gan_quality/dcgan64_t.json",
        f"precision stays {curve['train']['precision']:.2f} and recall reaches "
        f"{curve['train']['recall']:.2f}",
    )
    rows = results("gan_quality/ceilings.json")["rows"]
    perfect, small = rows["perfect generator of the training people"], rows["32 px, upsampled"]
    yield (
        "README.md",
        "gan_quality/ceilings.json",
        f"scores precision {perfect['precision']:.2f} against the test people; real faces "
        f"shrunk to 32 px and back score {small['fid_over_floor']:.1f}x the floor",
    )
    yield (
        "README.md",
        "gan_quality/ceilings.json",
        f"precision {perfect['precision']:.2f} and FID {perfect['fid_over_floor']:.1f}x the "
        f"floor (N={perfect['n_real']}",
    )


def gpu_claims() -> Iterator[tuple[str, str, str]]:
    """(doc, results file, expected text) of docs/gpu.md's CPU tables."""
    check = results("gpu_check_cpu.json")
    names = {
        "detector resnet50": "detector ResNet-50",
        "detector xception": "detector Xception",
        "gan dcgan": "GAN dcgan",
        "faceswap faceswap_ae": "face swap (faceswap_ae)",
        "fid from png files": "FID from PNG files",
    }
    for case in check["cases"]:
        first = case.get("first_epoch_images_per_s")
        row = (
            f"| {names[case['case']]} | {case['image_size']} px | {case['batch_size']} | "
            f"{'-' if first is None else rate(first) + ' img/s'} | "
            f"{rate(case['end_to_end_images_per_s'])} img/s | "
            f"{rate(case['compute_only_images_per_s'])} img/s | {case['ratio']:.2f} |"
        )
        yield "docs/gpu.md", "gpu_check_cpu.json", row
    fid = next(c for c in check["cases"] if c["case"] == "fid from png files")
    yield "docs/gpu.md", "gpu_check_cpu.json", f"ran at {rate(fid['command_images_per_s'])} img/s"
    cached, uncached = (
        check["loader"]["cached_epochs_images_per_s"],
        check["loader"]["uncached_epochs_images_per_s"],
    )
    yield (
        "docs/gpu.md",
        "gpu_check_cpu.json",
        f"| 1 (renders every row) | {cached[0]:.0f} img/s | {uncached[0]:.0f} img/s |",
    )
    yield (
        "docs/gpu.md",
        "gpu_check_cpu.json",
        f"| 2 | {cached[1]:.0f} img/s | {uncached[1]:.0f} img/s |",
    )
    yield "docs/gpu.md", "gpu_check_cpu.json", f"| 3 | {cached[2]:.0f} img/s | - |"
    helps = check["help_seconds"]
    yield (
        "docs/gpu.md",
        "gpu_check_cpu.json",
        f"`fakearena --help` {helps['fakearena --help']:.2f} s, `fakearena train --help` "
        f"{helps['fakearena train --help']:.2f} s",
    )


def _help_cell(seconds: float, mib: float) -> str:
    return f"{seconds:.2f} s, {mib:,.0f} MiB" if seconds < 1 else f"{seconds:.1f} s, {mib:,.0f} MiB"


def gpu_file_claims() -> Iterator[tuple[str, str, str]]:
    """(doc, results file, expected text) of docs/gpu.md's startup, crop-format, FID-precision
    and compile tables."""
    startup = results("startup.json")
    for command, row in startup["results"].items():
        yield (
            "docs/gpu.md",
            "startup.json",
            f"| `{command}` | {_help_cell(row['base_seconds'], row['base_peak_mib'])} | "
            f"{_help_cell(row['ours_seconds'], row['ours_peak_mib'])} |",
        )
    formats = results("crop_formats.json")["formats"]
    labels = {
        "png": "PNG (compress_level 1)",
        "jpg_q95": "**JPEG q95 (4:2:0)**, the default",
        "jpg_q95_444": "JPEG q95 4:4:4",
        "webp_q95": "WebP q95",
        "webp_lossless": "WebP lossless",
    }
    png = formats["png"]["decode_images_per_s_per_core"]
    for key, row in formats.items():
        rate_ = row["decode_images_per_s_per_core"]
        quality = (
            "lossless"
            if row["psnr_db_vs_png"] is None
            else f"{row['psnr_db_vs_png']:.1f} dB mean, {row['psnr_db_worst']:.1f} dB worst"
        )
        yield (
            "docs/gpu.md",
            "crop_formats.json",
            f"| {labels[key]} | {rate_:.0f} img/s | {rate_ / png:.2f}x | "
            f"{row['kib_per_image']:.1f} KiB | {quality} |",
        )
    precision = results("fid_precision.json")
    for label, value in (
        ("FID fp32", f"{precision['fid_fp32']:.3f}"),
        ("FID bf16 autocast", f"{precision['fid_bf16']:.3f}"),
        (
            "relative error",
            f"{precision['relative_error']:.2%} (tolerance {precision['tolerance']:.1%})",
        ),
        (
            "FID between fp32 and bf16 features of the same real faces",
            f"{precision['fid_real_fp32_vs_real_bf16']:.3f}",
        ),
        (
            "largest feature difference / relative L2",
            f"{precision['feature_max_abs_diff']:.3f} / {precision['feature_rel_l2']:.1%}",
        ),
    ):
        yield "docs/gpu.md", "fid_precision.json", f"| {label} | {value} |"
    yield (
        "docs/gpu.md",
        "fid_precision.json",
        f"{precision['bf16_seconds']:,.0f} s against {precision['fp32_seconds']:.0f} s for fp32",
    )
    yield (
        "docs/gpu.md",
        "gpu_check_cpu.json",
        f"after {results('gpu_check_cpu.json')['wall_seconds']:,.0f} s",
    )
    compiled = results("compile_speed.json")
    labels = ("detector meso4", "GAN dcgan")
    for check, run, label in zip(compiled["checks"], compiled["results"].values(), labels):
        seconds = round(run["compile_warmup_seconds"])
        yield (
            "docs/gpu.md",
            "compile_speed.json",
            f"| {label} | {check['baseline']:.1f} img/s | {check['ours']:.1f} img/s | "
            f"{check['ratio']:.2f}x | {seconds} s |",
        )
        percent = abs(check["ratio"] - 1)
        verb = "gains" if check["ratio"] > 1 else "loses"
        yield "docs/gpu.md", "compile_speed.json", f"{verb} {percent:.0%} for {label.split()[-1]}"


def arena_demo_claims() -> Iterator[tuple[str, str, str]]:
    """README's "What the default arena shows", from benchmarks/results/arena_demo/."""
    source = "arena_demo/summary.json"
    demo = results(source)
    yield "README.md", source, f"it took {demo['wall_seconds'] / 60:.1f} minutes"
    for name, test_set in demo["test_sets"].items():
        people, rows = test_set["identities"], test_set["rows"]
        pool = test_set["identity_match"]["rows_before"]
        aucs = {d: demo["detectors"][d][name]["auc"] for d in ("resnet", "meso4")}
        low, high = test_set["confound_ci95"]
        flag = "**confounded**" if test_set["confound_flagged"] else "ok"
        yield (
            "README.md",
            source,
            f"| `{name}` | {rows['real']} / {rows['fake']} of {pool['real']} / {pool['fake']} | "
            f"{people['real']} / {people['fake']} | {test_set['confound_auc']:.3f} "
            f"[{low:.3f}, {high:.3f}] {flag} | {test_set['confound_raw']:.3f} / "
            f"{test_set['confound_chance']:.3f} | {aucs['resnet']:.3f} | {aucs['meso4']:.3f} |",
        )
    gan, diffusion = demo["generators"]["dcgan"], demo["generators"]["diffusion"]
    swap, blend = demo["generators"]["faceswap"], demo["generators"]["blend"]
    yield (
        "README.md",
        source,
        f"DCGAN FID {gan['test/fid']:.1f} against a real-vs-real floor of "
        f"{gan['test/fid_floor']:.1f} (N=60, {gan['batches']} steps), diffusion FID "
        f"{diffusion['test/fid']:.1f} ({diffusion['batches']} steps)",
    )
    yield (
        "README.md",
        source,
        f"truth PSNR {swap['fakes/truth_psnr']:.2f} dB against the blends' "
        f"{blend['fakes/test/truth_psnr']:.2f} dB on the same rows and regions",
    )
    yield (
        "README.md",
        source,
        f"outside the swap region the swap moves {swap['fakes/outside_changed']:.0%} of the "
        f"pixels by more than 2 grey levels (RMSE {swap['fakes/outside_rmse']:.1f} levels), "
        f"the blends {blend['fakes/test/outside_changed']:.0%} (RMSE "
        f"{blend['fakes/test/outside_rmse']:.1f})",
    )
    yield (
        "README.md",
        source,
        f"chance 0.025) is {swap['fakes/id_top1']:.3f}, and the renderer's perfect swaps of the "
        f"same rows score {swap['fakes/id_top1_truth']:.3f}",
    )
    # which network embedded them: summaries from before `id_embedding` was recorded come from
    # runs whose swap ID metrics embedded with the confound check's head model
    embedding = swap.get("id_embedding", "synthetic_identity_model")
    said = {
        "synthetic_identity_model": "that run embedded the swaps with the confound check's head "
        "model",
        "synthetic_inner_face_model": "embedded with the synthetic inner-face model",
    }
    yield "README.md", source, said[embedding]


def synthetic_identity_claims() -> Iterator[tuple[str, str, str]]:
    """README's swap ID embedding on the arena's rows (python -m benchmarks.synthetic_identity)."""
    source = "synthetic_identity.json"
    run = results(source)
    inner, head = run["inner_face_model"], run["head_model"]
    scores = inner["donor_scores"]
    truth, faces = scores["true_swap"], run["faces"]
    yield "README.md", source, f"On the default arena's {faces['rows']} blended test rows"
    yield "README.md", source, f"({faces['test_people']} people, chance {truth['chance']:.3f};"
    yield (
        "README.md",
        source,
        f"donor at top-1 {truth['top1']:.3f} (top-5 {truth['top5']:.3f}), the untouched "
        f"target images claimed as swaps of that donor at {scores['source']['top1']:.3f}",
    )
    yield (
        "README.md",
        source,
        f"inner face at {scores['reverse_mix']['top1']:.3f}; real shots are recognised at "
        f"{inner['real_shots_as_their_person']['top1']:.3f}",
    )
    yield (
        "README.md",
        source,
        "names the donor of those perfect swaps at "
        f"{head['donor_scores']['true_swap']['top1']:.3f}",
    )
    arena, masked = (
        next(v for k, v in run["learned_swaps"].items() if f"/{name}/" in k)
        for name in ("arena_20ep", "masked64_20ep")
    )
    yield (
        "README.md",
        source,
        f"carry their donor at {arena['fakes']['top1']:.3f} and {masked['fakes']['top1']:.3f}",
    )
    yield (
        "README.md",
        source,
        f"({inner['settings']['train_cpu_seconds']:.1f} CPU-seconds at the defaults",
    )


def real_workflow_claims() -> Iterator[tuple[str, str, str]]:
    """README's real-video workflow timings and metrics (benchmarks/real_workflow.py)."""
    source = "real_workflow.json"
    run = results(source)
    steps, metrics, convert = run["steps"], run["fake_set"], run["convert"]
    total = sum(step["seconds"] for step in steps)
    yield "README.md", source, f"the seven steps took {total:.0f} s in all"
    yield (
        "README.md",
        source,
        f"faces extract {steps[1]['seconds']:.1f} s, the swap's training "
        f"{steps[2]['seconds']:.1f} s, generate {steps[3]['seconds']:.1f} s, convert "
        f"{steps[4]['seconds']:.1f} s for {convert['frames']} frames",
    )
    yield (
        "README.md",
        source,
        f"ID retrieval top-1 {metrics['fakes/id_top1']['value']:.3f} among 2 people (chance 0.5) "
        f"and ID similarity {metrics['fakes/id_similarity']['value']:.3f} to the donor against "
        f"{metrics['fakes/id_similarity_target']['value']:.3f} to the replaced face",
    )
    yield (
        "README.md",
        source,
        f"pose error {metrics['fakes/pose_error']['value']:.1f} degrees and expression error "
        f"{metrics['fakes/expression_error']['value']:.3f}",
    )
    held_out = run["swap"]
    yield (
        "README.md",
        source,
        f"{held_out['test/id_top1']['n']} held-out crops (`train`, `test/*`), top-1 "
        f"{held_out['test/id_top1']['value']:.3f}, ID similarity "
        f"{held_out['test/id_similarity']['value']:.3f} against "
        f"{held_out['test/id_similarity_target']['value']:.3f}, pose error "
        f"{held_out['test/pose_error']['value']:.1f} degrees",
    )
    for name, label in (("resnet", "test ResNet"), ("meso4", "Meso4")):
        probability = run["detections"][name][0].split()[3]
        yield "README.md", source, f"{probability} ({label},"


CLAIMS = [
    *readme_claims(),
    *gpu_claims(),
    *gpu_file_claims(),
    *arena_demo_claims(),
    *synthetic_identity_claims(),
    *real_workflow_claims(),
]


@pytest.mark.parametrize(("doc", "source", "expected"), CLAIMS)
def test_the_document_quotes_its_results_file(doc: str, source: str, expected: str):
    assert expected in text(doc), f"{doc} should say {expected!r} (from {source})"


# Numbers in README.md that are targets or settings, not measurements.
README_TARGETS = {"80%", "95%", "3x the floor"}
MEASURED = re.compile(
    r"(?<![\w.+-])[+-]?\d[\d,]*(?:\.\d+)?(?: ?(?:dB|%|GiB|MiB|img/s)|x the floor)"
)


def test_every_measured_number_in_the_readme_is_a_claim():
    claimed = " ".join(expected for doc, _, expected in CLAIMS if doc == "README.md")
    prose = re.sub(r"```.*?```", "", text("README.md"))
    unclaimed = [
        number
        for number in MEASURED.findall(prose)
        if number not in README_TARGETS and number not in claimed
    ]
    assert unclaimed == [], f"README.md numbers without a results file: {unclaimed}"


def test_the_families_section_quotes_its_summary():
    """README's "Families side by side" (once pasted) is the table rendered from
    benchmarks/results/arena_families/summary.json (`python -m benchmarks.arena_families`)."""
    if str(ROOT) not in sys.path:  # `benchmarks` is a top-level folder, not a package
        sys.path.insert(0, str(ROOT))
    from benchmarks._families_table import SECTION, section_mismatch

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if SECTION not in readme:
        pytest.skip(f"README.md has no {SECTION!r} section yet")
    source = RESULTS / "arena_families" / "summary.json"
    assert source.is_file(), f"README.md quotes {source}: run python -m benchmarks.arena_families"
    assert section_mismatch(readme, results("arena_families/summary.json")) is None


def test_the_zoo_doc_quotes_its_results_file():
    """docs/detector_zoo.md's results table is benchmarks/detector_zoo.py's rendering of the
    committed summary (a 3-seed run of the documented command), and nothing else in its results
    section looks like a typed AUC."""
    from benchmarks.detector_zoo import render_table

    summary = results("detector_zoo/summary.json")
    section = (ROOT / "docs" / "detector_zoo.md").read_text(encoding="utf-8")
    section = section.split("## Results", 1)[1].split("## Paper-size configurations", 1)[0]
    table = render_table(summary)
    assert table in section
    assert all(len(entry["seeds"]) == 3 for entry in summary["detectors"].values())
    prose = section.replace(table, "")
    typed = re.findall(r"\b0\.\d{3}\b", prose)
    quoted = {f"{v:.3f}" for v in _zoo_values(summary)}
    assert [t for t in typed if t not in quoted] == []


def _zoo_values(summary: dict) -> Iterator[float]:
    for test_set in summary["test_sets"].values():
        yield test_set["confound_auc"]
    for entry in summary["detectors"].values():
        for cell in entry["test_sets"].values():
            yield cell["mean"]
            yield cell["std"]
            yield from cell["aucs"]
    for method in summary["ablations"].values():
        for cell in method["test_sets"].values():
            for value in [cell["delta"], *(cell["ci95"] or [])]:
                yield abs(value)


def _meta_count(name: str, *extra: str, size: int = 256) -> torch.nn.Module:
    cfg = compose("train", [f"detector={name}", f"data.image_size={size}", *extra])
    node = OmegaConf.to_container(cfg.detector, resolve=True)
    node.pop("name")
    with torch.device("meta"):
        return instantiate(node)


def _n(module: torch.nn.Module) -> str:
    return f"{sum(p.numel() for p in module.parameters()):,}"


def test_the_zoo_parameter_table_matches_the_models():
    doc = text("docs/detector_zoo.md")
    f3 = _meta_count("f3net")
    assert f"Xception on the 12 band channels: {_n(f3.frequency)}" in doc
    assert f"| {_n(f3)} at 256 px (with 4 x 256^2 learnable band filters) |" in doc
    hybrid = _meta_count("f3net_rgb")
    assert f"2 x Xception: {_n(hybrid.rgb)} (RGB) + {_n(hybrid.frequency)}" in doc
    assert f"| {_n(hybrid)} at 256 px" in doc
    srm = _meta_count("srm")
    without_head = sum(p.numel() for p in srm.model.parameters()) - 2049  # fc: 2048 + 1
    assert f"Xception on 6 channels: {without_head:,}" in doc and f"| {_n(srm)} |" in doc
    assert f"| {_n(_meta_count('cnndetection'))} |" in doc
    assert f"| {_n(_meta_count('efficientnet_b4'))} |" in doc
    xray = _meta_count("xray")
    assert f"four branches: {_n(xray.backbone)}" in doc and f"| {_n(xray)} |" in doc
