"""The 64-px GAN curve command of benchmarks/results/gan_quality/README.md parses and composes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from benchmarks.gan_quality import parse_args
from omegaconf import OmegaConf

from fakearena.config import compose

README = Path(__file__).resolve().parents[1] / "benchmarks/results/gan_quality/README.md"


def documented_command(section: str) -> list[str]:
    """The first indented `python -m benchmarks.gan_quality` command after `section`."""
    lines = README.read_text().split(section, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if "python -m benchmarks.gan_quality" in line)
    command = []
    for line in lines[start:]:
        command.append(line.strip().rstrip("\\"))
        if not line.rstrip().endswith("\\"):
            break
    return shlex.split(" ".join(command))


def test_the_64px_curve_command_composes_the_dcgan64_recipe():
    argv = documented_command("## 64 px native")
    assert argv[:3] == ["python", "-m", "benchmarks.gan_quality"]
    args = parse_args(argv[3:])
    assert (args.generator, args.minutes) == ("dcgan64", [1, 2, 5, 10, 20])
    assert (args.n, args.n_curve) == (500, 250)
    assert (args.clock, args.threads) == ("cpu", 1)
    base = ["task=gan", f"generator={args.generator}", "data=synthetic"]
    cfg = compose("train", [*base, *args.overrides])
    network = cfg.generator
    assert cfg.generator.work_size is None and cfg.data.image_size == 64
    # dcgan64.json ran without augmentation; the config carries translation since
    assert cfg.generator.diffaugment is None
    assert list(compose("train", base).generator.diffaugment) == ["translation"]
    assert (network.g_width, network.d_width, network.ema_decay) == (32, 32, 0.999)
    assert cfg.task.optimizer.lr == 5.0e-4
    assert (cfg.task.d_optimizer.lr, list(cfg.task.d_optimizer.betas)) == (2.0e-4, [0.5, 0.999])


# ---- "64 px, small-data practice": the probes at equal steps and the curve of the winner ----
RESULTS = README.parent
SECTION = "## 64 px, small-data practice"


def number(value: float) -> str:
    """Precision/recall/density/coverage as the tables print them."""
    return f"{round(value, 3):g}"


def judged_cell(record: dict, milestone: dict, reference: str) -> str:
    """'FID (floor) ratio' of one milestone against one reference, at its N."""
    scores = milestone[reference]
    floor = record["floors"][str(scores["n_fake"])][reference]["fid"]
    return f"{scores['fid']:.1f} ({floor:.1f}) {scores['fid_over_floor']:.2f}x"


def probe_row(name: str) -> str:
    """A probe's table row (without its last, descriptive cell) from its JSON."""
    record = json.loads((RESULTS / f"{name}.json").read_text())
    early, late = record["milestones"]
    return (
        f"| `{name}` | {early['ms_per_step']:.1f} / {late['ms_per_step']:.1f} | "
        f"{judged_cell(record, early, 'train')} | {judged_cell(record, late, 'train')} | "
        f"{number(late['train']['precision'])} / {number(late['train']['recall'])} | "
        f"{judged_cell(record, late, 'test')} |"
    )


def curve_rows(name: str, baseline: str = "dcgan64") -> list[str]:
    """The curve table's rows (without the grid cell) from its JSON, each with the baseline
    curve's steps and FID against the training people at the same CPU-minute."""
    record = json.loads((RESULTS / f"{name}.json").read_text())
    base = json.loads((RESULTS / f"{baseline}.json").read_text())
    rows = []
    for m, b in zip(record["milestones"], base["milestones"], strict=True):
        assert m["milestone_minutes"] == b["milestone_minutes"]
        train = m["train"]
        prdc = " / ".join(number(train[k]) for k in ("precision", "recall", "density", "coverage"))
        rows.append(
            f"| {m['milestone_minutes']:g} | {m['batches']} | {m['ms_per_step']:.1f} | "
            f"{train['n_fake']} | {judged_cell(record, m, 'train')} | {prdc} | "
            f"{judged_cell(record, m, 'test')} | {b['batches']}: {b['train']['fid']:.1f} "
            f"({b['train']['fid_over_floor']:.2f}x) |"
        )
    return rows


def test_the_small_data_extrapolation_is_the_curves_last_two_points():
    """FID continued log-linearly from 10 to 20 CPU-minutes: per e-fold, 3x floor, budget."""
    import math

    record = json.loads((RESULTS / "dcgan64_t.json").read_text())
    ten, twenty = record["milestones"][-2:]
    assert (ten["milestone_minutes"], twenty["milestone_minutes"]) == (10, 20)
    per_e_fold = (ten["train"]["fid"] - twenty["train"]["fid"]) / math.log(2)
    target = 3 * record["floors"][str(twenty["train"]["n_fake"])]["train"]["fid"]
    budget = 20 * math.exp((twenty["train"]["fid"] - target) / per_e_fold)
    text = " ".join(section_text().split())
    base = json.loads((RESULTS / "dcgan64.json").read_text())["milestones"][-1]["train"]
    one, two = (m["train"]["fid"] for m in record["milestones"][:2])
    assert (
        f"FID {twenty['train']['fid']:.1f} against {base['fid']:.1f}, "
        f"{twenty['train']['fid_over_floor']:.2f}x against {base['fid_over_floor']:.2f}x" in text
    )
    assert f"FID rose ({two:.1f} after {one:.1f})" in text
    assert (
        f"FID {twenty['train']['fid_over_floor']:.2f}x its floor, precision "
        f"{number(twenty['train']['precision'])}, recall {number(twenty['train']['recall'])}"
        in text
    )
    assert (
        f"({per_e_fold:.1f} per e-fold of budget; an extrapolation, not a measurement) FID "
        f"would reach 3x the floor ({target:.1f}) at about {budget:.0f} CPU-minutes" in text
    )


def section_text() -> str:
    return README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]


def test_the_small_data_section_reads_its_numbers_from_the_jsons():
    text = section_text()
    names = re.findall(r"^\| `(steps_[a-z0-9_]+)` \|", text, flags=re.MULTILINE)
    assert "steps_dcgan64" in names and len(names) >= 3
    for name in names:
        assert probe_row(name) in text, name
    curve = re.search(r"--name (\S+)\s", text.split("The curve", 1)[1]).group(1)
    for row in curve_rows(curve):
        assert row in text, row


def test_the_small_data_commands_compose_what_they_say():
    text = section_text()
    commands = documented_commands(text)
    assert len(commands) >= 2
    arena = OmegaConf.load(README.parents[3] / "conf" / "arena.yaml")
    arena_dcgan = list(arena.generators.dcgan.train)
    for argv in [a for a in commands if parse_args(a[3:]).generator == "dcgan"]:
        # the arena's 32-px recipe, override for override
        assert set(parse_args(argv[3:]).overrides) <= set(arena_dcgan)
        assert "generator.work_size=32" in argv
    commands = [a for a in commands if parse_args(a[3:]).generator != "dcgan"]
    for argv in commands:
        args = parse_args(argv[3:])
        assert (args.generator, args.clock, args.threads) == ("dcgan64", "cpu", 1)
        cfg = compose("train", ["task=gan", f"generator={args.generator}", "data=synthetic",
                                *args.overrides])
        assert cfg.task.optimizer.lr == 5.0e-4 and cfg.task.d_optimizer.lr == 2.0e-4
        assert list(cfg.generator.diffaugment) == ["translation"]
    by_name = {args.name: args for args in (parse_args(a[3:]) for a in commands)}
    assert by_name["steps_dcgan64_t"].steps == [600, 1500]
    assert by_name["dcgan64_t"].minutes == [1, 2, 5, 10, 20]
    assert by_name["slot_dcgan64_t"].minutes == [1, 2, 2.5]
    # the probes' JSONs record the overrides the text gives them
    probes = {
        "steps_dcgan64": ["generator.diffaugment=null"],
        "steps_dcgan64_r1": ["generator.diffaugment=null", "task.r1_gamma=0.025"],
        "steps_dcgan64_t_r1": ["generator.diffaugment=[translation]", "task.r1_gamma=0.025"],
        "steps_dcgan64_tc": ["generator.diffaugment=[translation,cutout]"],
    }
    for name, extra in probes.items():
        recorded = json.loads((RESULTS / f"{name}.json").read_text())["overrides"][2:]
        ran_default = [o for o in extra if o != "generator.diffaugment=null"]
        assert recorded == ran_default, name


def documented_commands(text: str) -> list[list[str]]:
    """Every indented `python -m benchmarks.gan_quality` command of `text`, as argv."""
    commands, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("python -m benchmarks.gan_quality"):
            command = []
            for part in lines[i:]:
                command.append(part.strip().rstrip("\\"))
                if not part.rstrip().endswith("\\"):
                    break
            commands.append(shlex.split(" ".join(command)))
    return commands


def test_the_small_data_reading_quotes_differences_of_the_jsons():
    text = " ".join(section_text().split())

    def fids(name: str) -> list[float]:
        record = json.loads((RESULTS / f"{name}.json").read_text())
        return [m["train"]["fid"] for m in record["milestones"]]

    def minutes(name: str) -> float:
        return json.loads((RESULTS / f"{name}.json").read_text())["milestones"][-1]["train_minutes"]

    base, shifted, r1 = fids("steps_dcgan64"), fids("steps_dcgan64_t"), fids("steps_dcgan64_r1")
    earlier = json.loads((RESULTS / "dcgan64.json").read_text())["milestones"][1]
    assert (
        f"(-{base[0] - shifted[0]:.1f} FID at 600 steps, -{base[1] - shifted[1]:.1f} at 1500"
        in text
    )
    cutout = fids("steps_dcgan64_tc")
    assert f"at 600 steps ({cutout[0]:.1f}) and behind it at 1500 ({cutout[1]:.1f})" in text
    assert shifted[1] < min(base[1], r1[1], cutout[1], fids("steps_dcgan64_t_r1")[1])
    assert f"R1 alone helps a little (-{base[0] - r1[0]:.1f}, -{base[1] - r1[1]:.1f})" in text
    assert f", {earlier['batches']} steps) to {earlier['train']['fid']:.1f}, here " in text
    assert f"here {base[0]:.1f} at 600 steps" in text
    shifted_cpu, base_cpu = minutes("steps_dcgan64_t"), minutes("steps_dcgan64")
    assert (
        f"took {shifted_cpu:.2f} CPU-minutes against the baseline's {base_cpu:.2f}, "
        f"{shifted_cpu / base_cpu - 1:.0%} more" in text
    )


def slot_rows(name: str) -> list[str]:
    """The 2.5-minute slot table's rows of one run (without the grid cell)."""
    record = json.loads((RESULTS / f"{name}.json").read_text())
    return [
        f"| `{name}` | {m['milestone_minutes']:g} | {m['batches']} | {m['ms_per_step']:.1f} | "
        f"{m['train']['n_fake']} | {judged_cell(record, m, 'train')} | "
        f"{number(m['train']['precision'])} / {number(m['train']['recall'])} | "
        f"{judged_cell(record, m, 'test')} |"
        for m in record["milestones"]
    ]


def test_the_slot_comparison_reads_its_rows_from_the_jsons():
    text = section_text()
    for name in ("slot_recipe32", "slot_dcgan64_t"):
        for row in slot_rows(name):
            assert row in text, row
    fids = [
        json.loads((RESULTS / f"{name}.json").read_text())["milestones"][-1]["train"]["fid"]
        for name in ("slot_recipe32", "slot_dcgan64_t")
    ]
    assert fids[0] < fids[1]  # what the text concludes: the 32-px recipe keeps the slot
    flat = " ".join(text.split())
    assert f"FID {fids[0]:.1f} against {fids[1]:.1f} at N=500" in flat
    last = [
        json.loads((RESULTS / f"{name}.json").read_text())["milestones"]
        for name in ("slot_recipe32", "slot_dcgan64_t", "dcgan64_t")
    ]
    assert f"with {last[0][-1]['batches'] / last[1][-1]['batches']:.1f} times the steps" in flat
    assert (
        f"({last[1][0]['train']['fid']:.1f} after {last[1][0]['batches']} steps) against the "
        f"curve's ({last[2][0]['train']['fid']:.1f} after {last[2][0]['batches']})" in flat
    )


def test_translation_on_the_slot_recipe_reads_its_rows_and_gaps_from_the_jsons():
    flat = " ".join(section_text().split())
    runs = ("slot_recipe32_t", "slot_recipe32_seed1", "slot_recipe32_t_seed1")
    for name in runs:
        for row in slot_rows(name):
            assert row in flat, row

    def last(name: str) -> dict:
        return json.loads((RESULTS / f"{name}.json").read_text())["milestones"][-1]

    plain = [last("slot_recipe32"), last("slot_recipe32_seed1")]
    shifted = [last("slot_recipe32_t"), last("slot_recipe32_t_seed1")]
    gaps = [p["train"]["fid"] - t["train"]["fid"] for p, t in zip(plain, shifted)]
    assert min(gaps) > 19  # beyond the run-to-run spread the text cites: the slot takes it
    assert f"by {gaps[0]:.1f} (seed 0) and {gaps[1]:.1f} (seed 1) FID" in flat
    recalls = [m["train"]["recall"] for m in (*shifted, *plain)]
    assert "with it ({:g} and {:g} against {:g} and {:g})".format(*recalls) in flat
    steps = [f"{m['ms_per_step']:.1f}" for m in (shifted[0], plain[0], shifted[1], plain[1])]
    assert "({} against {} ms at seed 0, {} against {} at seed 1)".format(*steps) in flat
    arena = OmegaConf.load(README.parents[3] / "conf" / "arena.yaml").generators.dcgan.train
    assert "generator.diffaugment=[translation]" in arena


# ---- "64 px with noise inputs": the probes, the grain oracle, the texture stand-ins ----------
NOISE_SECTION = "## 64 px with noise inputs"
NOISE_PROBES = {  # run -> the overrides after the recipe's two optimiser ones, as recorded
    "steps_dcgan64_t_rerun": ["generator.diffaugment=[translation]"],
    "steps_dcgan64_tn": ["generator.diffaugment=[translation]", "generator.noise_inputs=true"],
    "steps_dcgan64_to": ["generator.diffaugment=[translation]", "generator.output_noise=true"],
    "steps_dcgan64_t_grain": ["generator.diffaugment=[translation]"],
    "steps_dcgan64_t_seed1": ["generator.diffaugment=[translation]"],
    "steps_dcgan64_tn_seed1": [
        "generator.diffaugment=[translation]",
        "generator.noise_inputs=true",
    ],
}


def noise_text() -> str:
    """The section, whitespace collapsed."""
    return " ".join(README.read_text().split(NOISE_SECTION, 1)[1].split("\n## ", 1)[0].split())


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def test_the_noise_probe_command_composes_noise_inputs_on_the_dcgan64_recipe():
    section = README.read_text().split(NOISE_SECTION, 1)[1].split("\n## ", 1)[0]
    (argv,) = documented_commands(section)[:1]
    args = parse_args(argv[3:])
    assert (args.name, args.generator, args.steps) == ("steps_dcgan64_tn", "dcgan64", [600, 1500])
    assert (args.n, args.n_curve, args.clock, args.threads) == (500, 250, "cpu", 1)
    cfg = compose("train", ["task=gan", "generator=dcgan64", "data=synthetic", *args.overrides])
    assert cfg.generator.noise_inputs is True and cfg.generator.output_noise is False
    assert cfg.task.optimizer.lr == 5.0e-4 and cfg.task.d_optimizer.lr == 2.0e-4
    assert load("steps_dcgan64_tn")["overrides"] == args.overrides
    for name, extra in NOISE_PROBES.items():
        assert load(name)["overrides"][2:] == extra, name
    assert load("steps_dcgan64_t_grain")["grain"] is True
    assert [load(n)["seed"] for n in ("steps_dcgan64_t_seed1", "steps_dcgan64_tn_seed1")] == [1, 1]
    b0 = load("steps_dcgan64_t_b0")["overrides"]
    assert "betas: [0.0, 0.99]" in b0[1] and b0[2:] == [
        "generator.diffaugment=[translation]",
        "task.optimizer.betas=[0.0,0.99]",
    ]
    # the gate failed: the 64-px recipe keeps its noise off
    base = compose("train", ["task=gan", "generator=dcgan64"]).generator
    assert base.noise_inputs is False and base.output_noise is False


def test_the_noise_probes_read_their_rows_and_differences_from_the_jsons():
    text = noise_text()
    names = re.findall(r"\| `(steps_[a-z0-9_]+)` \| \d", text)
    assert {"steps_dcgan64_t_rerun", "steps_dcgan64_tn", "steps_dcgan64_to"} <= set(names)
    for name in names:
        assert " ".join(probe_row(name).split()) in text, name
    runs = (*NOISE_PROBES, "steps_dcgan64_t_b0")
    fid = {n: [m["train"]["fid"] for m in load(n)["milestones"]] for n in runs}
    base = fid["steps_dcgan64_t_rerun"]
    # the re-run repeats the earlier run exactly, grids included
    assert base == [m["train"]["fid"] for m in load("steps_dcgan64_t")["milestones"]]
    for steps in (600, 1500):
        grid = f"steps_dcgan64_t{{}}_{steps}steps.png"
        samples = RESULTS / "samples"
        assert (samples / grid.format("")).read_bytes() == (
            samples / grid.format("_rerun")
        ).read_bytes()
    first, again = (load(n)["milestones"][0] for n in ("steps_dcgan64_t", "steps_dcgan64_t_rerun"))
    assert f"({first['ms_per_step']:.1f} against {again['ms_per_step']:.1f} ms/step at 600)" in text
    tn, to, b0 = fid["steps_dcgan64_tn"], fid["steps_dcgan64_to"], fid["steps_dcgan64_t_b0"]
    assert f"FID {tn[1]:.1f} against {base[1]:.1f} at 1500 steps (+{tn[1] - base[1]:.1f})" in text
    tn1, base1 = fid["steps_dcgan64_tn_seed1"], fid["steps_dcgan64_t_seed1"]
    assert f"seed 1 {tn1[1]:.1f} against {base1[1]:.1f} (+{tn1[1] - base1[1]:.1f})" in text
    assert (
        f"the baseline to {base1[0]:.1f} at 600 steps and {base1[1]:.1f} at 1500 (seed 0: "
        f"{base[0]:.1f} and {base[1]:.1f})" in text
    )
    assert f"output noise: {to[1]:.1f} (+{to[1] - base[1]:.1f})" in text
    assert f"({b0[0]:.1f} against {base[0]:.1f} at 600 steps)" in text
    assert f"({b0[1]:.1f} against {base[1]:.1f})" in text
    noisy, plain = (load(n)["milestones"][1] for n in ("steps_dcgan64_tn", "steps_dcgan64_t_rerun"))
    assert f"({noisy['ms_per_step']:.1f} against {plain['ms_per_step']:.1f} ms)" in text
    assert min(tn[1], to[1], b0[1]) > base[1]  # no probe is ahead at 1500 steps: no curve
    assert tn1[1] > base1[1]


def test_the_grain_oracle_and_texture_stand_ins_read_their_numbers_from_the_jsons():
    text = noise_text()
    record = load("steps_dcgan64_t_grain")
    for m in record["milestones"]:
        g = {**m, "train": m["train_grain"], "test": m["test_grain"]}
        row = (
            f"| {m['batches']} | {judged_cell(record, m, 'train')} | "
            f"{judged_cell(record, g, 'train')} | {number(g['train']['precision'])} / "
            f"{number(g['train']['recall'])} | {judged_cell(record, m, 'test')} | "
            f"{judged_cell(record, g, 'test')} |"
        )
        assert row in text, row
    assert [m["train"]["fid"] for m in record["milestones"]] == [
        m["train"]["fid"] for m in load("steps_dcgan64_t_rerun")["milestones"]
    ]
    (early, late) = record["milestones"]
    plain, grainy = late["train"]["fid"], late["train_grain"]["fid"]
    assert f"buys {plain - grainy:.1f} FID ({plain:.1f} to {grainy:.1f})" in text
    assert f"costs {early['train_grain']['fid'] - early['train']['fid']:.1f} at 600 steps" in text

    texture = load("texture")
    for reference, label in (("train", "train people"), ("test", "test people")):
        for stand_in, s in texture["references"][reference].items():
            grain = "" if s["grain_sigma"] is None else f"{s['grain_sigma']:.2f}"
            row = (
                f"| {label} | {stand_in} | {s['fid']:.1f} ({s['fid_over_floor']:.2f}x) | "
                f"{s['precision']:.3f} | {s['recall']:.3f} | {s['density']:.3f} | "
                f"{s['coverage']:.3f} | {grain} |"
            )
            assert " ".join(row.split()) in text, row
    none, half = (texture["references"]["train"][k] for k in ("noise x0", "noise x0.5"))
    assert (
        f"score FID {none['fid']:.1f}, {none['fid_over_floor']:.2f}x the floor, recall "
        f"{none['recall']:.3f}" in text
    )
    assert f"{half['fid']:.1f} ({half['fid_over_floor']:.2f}x), recall {half['recall']:.3f}" in text
    assert f"({none['precision']:.3f} without any noise)" in text

    grids = load("grain_noise")["grids"]
    cells = re.findall(r"\| `([a-z0-9_.]+\.png)` \| ([0-9.]+)", text)
    assert len(cells) == len(grids) == 12
    for name, value in cells:
        assert f"{grids[name]['sigma_median']:.2f}" == value, name
    gan = [grids[f"steps_dcgan64_{n}_1500steps.png"]["sigma_median"] for n in ("t_rerun", "tn")]
    real = grids["real_train_people.png"]["sigma_median"]
    assert f"{gan[0]:.2f} to {gan[1]:.2f} against the renders' {real:.2f}" in text


def test_the_3000_step_pair_reads_its_rows_from_the_jsons():
    text = noise_text()
    grains = load("grain_steps3000")["grids"]
    fids = []
    arms = (("steps3000_dcgan64_t", []), ("steps3000_dcgan64_tn", ["generator.noise_inputs=true"]))
    for name, extra in arms:
        record = load(name)
        assert record["overrides"][2:] == ["generator.diffaugment=[translation]", *extra]
        (m,) = record["milestones"]
        assert (m["milestone_steps"], m["train"]["n_fake"]) == (3000, 500)
        grain = grains[f"{name}_3000steps.png"]["sigma_median"]
        row = (
            f"| `{name}` | {m['ms_per_step']:.1f} | {judged_cell(record, m, 'train')} | "
            f"{number(m['train']['precision'])} / {number(m['train']['recall'])} | "
            f"{judged_cell(record, m, 'test')} | {grain:.2f} |"
        )
        assert row in text, row
        fids.append((m["train"]["fid"], m["test"]["fid"]))
    (base, base_test), (noisy, noisy_test) = fids
    assert f"A tie ({noisy - base:.1f} FID apart against the training people, " in text
    assert noisy > base and noisy_test < base_test
    assert f"{base_test - noisy_test:.1f} the other way against the test people)" in text
