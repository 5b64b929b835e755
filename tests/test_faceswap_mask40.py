"""benchmarks.faceswap_mask40: its points run the arena's own face-swap stages, the arena's
entry is one of its measured points, its checks follow from its numbers, and
benchmarks/results/faceswap/README.md holds its table and command."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from benchmarks._faceswap_mask40_table import bn_rows, identity_rows, paired_rows, table_rows
from benchmarks.faceswap_mask40 import ENTRY, RECIPES, entry_with, parse, payload, point_checks
from omegaconf import OmegaConf

from fakearena.runs.arena import generator_stages

ROOT = Path(__file__).resolve().parents[1]
RECORD = json.loads((ROOT / "benchmarks/results/faceswap_mask40.json").read_text())
BN_MODES = json.loads((ROOT / "benchmarks/results/faceswap_bn_modes.json").read_text())
PAIRED = json.loads((ROOT / "benchmarks/results/faceswap_paired.json").read_text())
README = (ROOT / "benchmarks/results/faceswap/README.md").read_text()


def arena_config():
    return OmegaConf.load(ROOT / "conf" / "arena.yaml")


def swap_train_args(cfg, run_dir: Path) -> list[str]:
    only = cfg.copy()
    only.generators = {ENTRY: cfg.generators[ENTRY]}
    trains, _, _ = generator_stages(only, run_dir, run_dir / "real.csv")
    return trains[0].args


def test_a_point_is_the_arenas_train_stage_with_only_the_recipe_and_epochs_replaced(
    tmp_path: Path,
):
    arena = arena_config()
    theirs = swap_train_args(arena, tmp_path)
    keys = {o.split("=", 1)[0] for r in RECIPES.values() for o in r} | {"trainer.max_epochs"}

    def untouched(args: list[str]) -> list[str]:
        return [a for a in args if a.split("=", 1)[0] not in keys]

    for recipe, overrides in RECIPES.items():
        mine = swap_train_args(entry_with(arena, recipe, 40), tmp_path)
        assert untouched(mine) == untouched(theirs), recipe  # same arguments, same order
        assert [a for a in mine if a not in untouched(mine)] == [
            *overrides,
            "trainer.max_epochs=40",
        ]


def test_the_arenas_face_swap_entry_is_a_measured_point():
    arena = arena_config()
    entry = [str(a) for a in arena.generators[ENTRY].train]
    epochs = int(next(a for a in entry if a.startswith("trainer.max_epochs=")).split("=")[1])
    matches = [
        recipe
        for recipe in RECIPES
        if sorted(str(a) for a in entry_with(arena, recipe, epochs).generators[ENTRY].train)
        == sorted(entry)
    ]
    assert len(matches) == 1, matches
    measured = {(p["recipe"], p["epochs"]) for p in RECORD["points"]}
    assert (matches[0], epochs) in measured


def test_the_committed_checks_follow_from_the_committed_numbers():
    reference = {
        "same_rows": RECORD["blend_same_rows"],
        "arena_blend_test": RECORD["arena_blend_test"],
    }
    assert payload(RECORD["points"], reference)["checks"] == RECORD["checks"]
    assert all(c["pass"] for c in RECORD["checks"][:2])  # same rows, blends = arena's record
    assert len({p["n"] for p in RECORD["points"]}) == 1


def test_checks_flag_each_target_and_a_differing_row_set():
    blend = {"truth_psnr": 21.0, "truth_gain_db": 2.0, "closer_to_truth": 0.6}
    point = {
        "recipe": "masked64",
        "epochs": 8,
        "train_cpu_minutes": 1.0,
        "truth_psnr": 21.0,
        "truth_gain_db": 0.0,
        "closer_to_truth": 0.8,
    }
    assert [c["pass"] for c in point_checks(point, blend)] == [True, False, True]
    point |= {"truth_psnr": 20.99, "truth_gain_db": 0.01, "closer_to_truth": 0.79}
    assert [c["pass"] for c in point_checks(point, blend)] == [False, True, False]
    same = {**blend, "truth_psnr": 21.0}
    other = {**point, "epochs": 16, "rows_sha256": "b"}
    checks = payload(
        [{**point, "rows_sha256": "a"}, other], {"same_rows": same, "arena_blend_test": same}
    )["checks"]
    assert checks[0]["pass"] and not checks[1]["pass"] and checks[1]["ours"] == 2


def test_the_readme_holds_the_table_and_the_command_that_wrote_it():
    for row in table_rows(RECORD):
        assert row in README, row
    lines = [line.strip() for line in README.splitlines() if "benchmarks.faceswap_mask40" in line]
    commands = [shlex.split(line) for line in lines if line.startswith("python -m")]
    assert commands, "no `python -m benchmarks.faceswap_mask40` command in the README"
    points = set()
    for argv in commands:
        args = parse(argv[3:])
        points |= {(r, int(e)) for r, e in (p.split(":") for p in args.points)}
    assert points == {(p["recipe"], p["epochs"]) for p in RECORD["points"]}


def test_the_identity_terms_table_is_the_committed_file_and_names_each_term():
    rows = identity_rows(RECORD)
    for row in rows:
        assert row in README, row
    terms = {"adv": "run_latent_id_top1", "swapid": "run_swap_id_top1"}
    for point in RECORD["points"]:
        recipe = point["recipe"]
        if not recipe.startswith("arena_ppb8_instance_ssim"):
            continue
        overrides = " ".join(point["overrides"])
        for tag, key in terms.items():  # a term's own metric exactly where the term is on
            on = f"_{tag}" in recipe
            assert on == (key in point), (recipe, key)
            weight = "latent_adversary_weight" if tag == "adv" else "swap_identity_weight"
            assert on == (f"task.{weight}=" in overrides), recipe
        if "run_swap_id_top1" in point:
            assert 0 <= point["run_swap_id_top1"] <= 1 and "run_id_classifier_top1" in point
    assert any(row.startswith("| arena_ppb8_instance_ssim | 20 |") for row in rows)


@pytest.mark.parametrize("bad", ["masked64", "nope:8"])
def test_a_bad_point_names_the_recipes(bad: str, capsys):
    with pytest.raises(SystemExit):
        parse(["--points", bad])
    assert re.search(r"give RECIPE:EPOCHS with RECIPE in \['arena', ", capsys.readouterr().err)


def test_the_top_readme_command_parses_and_names_measured_points():
    text = (ROOT / "README.md").read_text()
    lines = [line.strip() for line in text.splitlines() if "benchmarks.faceswap_mask40 " in line]
    assert lines, "README.md lost its `python -m benchmarks.faceswap_mask40` command"
    measured = {(p["recipe"], p["epochs"]) for p in RECORD["points"]}
    for line in lines:
        args = parse(shlex.split(line)[3:])
        assert {(r, int(e)) for r, e in (p.split(":") for p in args.points)} <= measured


def _readme_command(module: str) -> list[str]:
    lines = [line.strip() for line in README.splitlines() if f"-m benchmarks.{module} " in line]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])


def _point(run: str) -> dict:
    recipe, epochs = run.rsplit("_", 1)
    points = RECORD["points"]
    return next(p for p in points if (p["recipe"], f"{p['epochs']}ep") == (recipe, epochs))


def test_the_batch_norm_modes_table_is_the_committed_file_and_eval_mode_is_the_point():
    for row in bn_rows(BN_MODES):
        assert row in README, row
    argv = _readme_command("faceswap_bn_modes")
    assert argv[argv.index("--runs") + 1 : argv.index("--work")] == [
        r["run"] for r in BN_MODES["runs"]
    ]
    assert len(BN_MODES["checks"]) == 2 * len(BN_MODES["runs"])
    assert all(c["pass"] for c in BN_MODES["checks"])
    for run in BN_MODES["runs"]:  # the swaps in eval mode are the point's own fake set
        point = _point(run["run"])
        assert run["eval"]["truth_psnr"] == pytest.approx(point["truth_psnr"], abs=1e-3)
        assert run["eval"]["n"] == point["n"]


def test_the_paired_table_is_the_committed_file_and_its_sides_are_the_points():
    for row in paired_rows(PAIRED):
        assert row in README, row
    command = "-m benchmarks.faceswap_paired "
    lines = [line.strip() for line in README.splitlines() if command in line]
    listed = []  # the README's commands in order, each appending its pairs to the file
    for argv in (shlex.split(line) for line in lines):
        pairs = argv[argv.index("--pairs") + 1 : argv.index("--work")]
        listed += [(pair, "--id" in argv) for pair in pairs]
    assert [pair for pair, _ in listed] == [f"{p['a']}:{p['b']}" for p in PAIRED["pairs"]]
    assert [with_id for _, with_id in listed] == ["id_top1" in p for p in PAIRED["pairs"]]
    for pair in PAIRED["pairs"]:  # rescored from the fake sets: the committed points' values
        assert pair["rows"] == RECORD["points"][0]["n"] and pair["people"] == 40
        for side in ("a", "b"):
            point = _point(pair[side])
            # with --id, the rows' donor hits average to the point's own id_top1
            for key in ("truth_psnr", "closer_to_truth", "id_top1")[: 2 + ("id_top1" in pair)]:
                assert pair[key][side] == pytest.approx(point[key], abs=1e-3), (pair, key)
        low, high = pair["truth_psnr"]["ci95"]
        assert low <= pair["truth_psnr"]["b_minus_a"] <= high


def test_paired_replaces_its_pairs_in_the_file_and_keeps_the_others(tmp_path: Path, monkeypatch):
    import benchmarks.faceswap_paired as faceswap_paired

    before = [{"a": "x", "b": "y", "v": 1}, {"a": "p", "b": "q", "v": 1}]
    (tmp_path / "faceswap_paired.json").write_text(json.dumps({"pairs": before}))
    monkeypatch.setattr(
        faceswap_paired, "paired", lambda a, b, cache: {"a": a.name, "b": b.name, "v": 2}
    )
    argv = ["--pairs", "p:q", "r:s", "--work", str(tmp_path), "--results", str(tmp_path)]
    assert faceswap_paired.main(argv) == 0
    pairs = json.loads((tmp_path / "faceswap_paired.json").read_text())["pairs"]
    kept_then_measured = [("x", "y", 1), ("p", "q", 2), ("r", "s", 2)]
    assert [(p["a"], p["b"], p["v"]) for p in pairs] == kept_then_measured


def test_the_budget_reading_is_the_committed_points_extrapolated():
    from benchmarks._faceswap_mask40_table import (
        BUDGET_RECIPES,
        TREND_CHECKS,
        budget_sentence,
        log_linear_budget,
        on_the_line,
        trend_check_sentence,
    )

    # the line through (2 min, 0.5) and (8 min, 0.6) rises 0.1 per log(4): 0.8 two such steps on
    a = {"train_cpu_minutes": 2.0, "m": 0.5}
    b = {"train_cpu_minutes": 8.0, "m": 0.6}
    assert log_linear_budget(a, b, "m", 0.8) == pytest.approx(128.0)
    assert log_linear_budget(b, a, "m", 0.8) == float("inf")  # falling: never
    for recipe in BUDGET_RECIPES:
        assert f"`{budget_sentence(RECORD, recipe, (80, 320))}`" in README
    # the longer point that checks a line: its prediction there, and the line after it
    assert on_the_line(a, b, "m", 32.0) == pytest.approx(0.7)
    values = {"closer_to_truth": 0.6, "id_top1": 0.4, "truth_psnr": 20.0}
    flat = {
        "points": [
            {"recipe": "r", "epochs": 1, "train_cpu_minutes": 8.0, **values},
            {"recipe": "r", "epochs": 4, "train_cpu_minutes": 32.0, **values, "id_top1": 0.5},
        ],
        "blend_same_rows": {"truth_psnr": 21.0},
    }
    sentence = budget_sentence(flat, "r", (1, 4))
    assert "closer_to_truth 0.8 never (it does not rise from 0.6 to 0.6)" in sentence
    assert "id_top1 0.8 at about 2,048 CPU-min" in sentence  # +0.1 a x4: three more x4
    for recipe, fit, measured_at in TREND_CHECKS:
        assert f"`{trend_check_sentence(RECORD, recipe, fit, measured_at)}`" in README
        assert f"`{budget_sentence(RECORD, recipe, (fit[1], measured_at))}`" in README


def test_the_wide_network_is_read_against_the_narrow_curve_at_its_own_cpu():
    from benchmarks._faceswap_mask40_table import on_the_line

    points = {(p["recipe"], p["epochs"]): p for p in RECORD["points"]}
    narrow = [points[("arena_ppb8_instance_ssim_adv0.1", e)] for e in (80, 320)]
    wide = points[("arena_ppb8_instance_ssim_adv0.1_w32", 80)]
    minutes = wide["train_cpu_minutes"]
    closer, ident, psnr = (
        on_the_line(*narrow, key, minutes) for key in ("closer_to_truth", "id_top1", "truth_psnr")
    )
    assert f"At its {minutes:.2f} CPU-min (80 epochs)" in README
    assert f"gives about {closer:.0%} closer, ID {ident:.3f} and {psnr:.2f} dB" in README
    assert (
        f"{wide['closer_to_truth']:.0%}, {wide['id_top1']:.3f} and {wide['truth_psnr']:.2f} dB"
        in README
    )


def test_the_shared_decoder_reading_quotes_its_points():
    points = {(p["recipe"], p["epochs"]): p for p in RECORD["points"]}

    def quoted(recipe: str) -> str:
        p = points[(recipe, 20)]
        return f"{p['closer_to_truth']:.1%}, {p['id_top1']:.3f} and {p['truth_psnr']:.2f} dB"

    shared = points[("arena_ppb8_instance_ssim_adv0.1_shared", 20)]
    assert (
        f"{shared['closer_to_truth']:.1%} closer to the truth, ID {shared['id_top1']:.3f}, "
        f"{shared['truth_psnr']:.2f} dB at 20 epochs" in " ".join(README.split())
    )
    flat = " ".join(README.split())
    assert f"decoders' {quoted('arena_ppb8_instance_ssim_adv0.1')}" in flat
    assert f"without the adversary: {quoted('arena_shared')})" in flat
