#!/usr/bin/env python3
"""Leave one shop out: how a way of fitting the default calibrations does on a shop it was
not fitted on, measured only on the shops we fit on.

    cargo build --release && python3 bench/loso.py [--max-false-escalation 0.04] [--clarify X]
        [--model models/multilingual-e5-small --languages en,es,pt,nl] [--precision int8]

The shops we fit on are the demo shop as a new shop writes it (its articles without their
`questions:` lists, its intents, tests/eval/tuning.jsonl) and every development shop under
tests/devshops/*/. For each of them in turn, `concierge calibrate` fits the lexical and the
hybrid calibration on the others (as bench/fit-defaults.sh does on all of them), and
`concierge eval` measures the left-out shop with that fit (no self-calibration unless
--self-calibration: its reference is measured on every shop, the left-out one included).
The sum over the folds is the estimate to choose a fitting procedure by, before its defaults
are compiled in and the held-out shops (tests/shops/*, never read here) are measured.

Prints, per engine and fold: top-1, must-escalate escalated and answerable escalated (all
languages; the columns of bench/heldout.py) and the share of wrong replies (`wrong`), then the
totals. Python 3 standard library.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("heldout", REPO / "bench" / "heldout.py")
heldout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(heldout)


def fit_shops(work: Path) -> list[tuple[str, Path]]:
    """(name, folder with knowledge-base/, questions.jsonl and maybe intents/)."""
    demo = work / "demo"
    subprocess.run([sys.executable, str(REPO / "bench" / "without-questions.py"),
                    str(REPO / "knowledge-base"), str(demo / "knowledge-base")], check=True)
    (demo / "intents").symlink_to(REPO / "intents")
    (demo / "questions.jsonl").symlink_to(REPO / "tests" / "eval" / "tuning.jsonl")
    out = [("demo (no questions:)", demo)]
    for d in sorted((REPO / "tests" / "devshops").iterdir()):
        if (d / "questions.jsonl").is_file() and (d / "knowledge-base").is_dir():
            out.append((d.name, d))
    return out


def sources(shop: Path, empty: Path) -> list[str]:
    intents = shop / "intents"
    return ["--kb", str(shop / "knowledge-base"), "--intents", str(intents if intents.exists() else empty)]


def calibrate(binary: Path, train: list[Path], mode: str, args, empty: Path, cwd: Path) -> str:
    """The fitted YAML (comments and `self_calibration` left out)."""
    first, rest = train[0], train[1:]
    cmd = [str(binary), "calibrate", str(first / "questions.jsonl"), *sources(first, empty),
           "--max-false-escalation", str(args.max_false_escalation)]
    for d in rest:
        cmd += ["--shop", str(d)]
    config = None
    if mode == "hybrid":
        # The model and its languages, as the fold's config will name them.
        config = cwd / "semantic.yaml"
        config.write_text(semantic_section(args))
        cmd += ["--config", str(config)]
    env = heldout.env_for(mode, config)
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise heldout.Failure(f"`{' '.join(cmd)}` exited with {p.returncode}\n{p.stderr.strip()}")
    lines = [l for l in p.stdout.splitlines() if not l.startswith("#") and not l.startswith("self_calibration")]
    if args.clarify is not None:
        lines = [l.split("clarify:")[0] + f"clarify: {args.clarify}" if "clarify:" in l else l for l in lines]
    return "\n".join(lines) + "\n"


def semantic_section(args) -> str:
    """The `semantic:` keys naming the model and the languages it serves."""
    langs = ", ".join(args.languages.split(","))
    return (f"semantic:\n  model: {args.model.resolve()}\n  languages: [{langs}]\n"
            f"  precision: {args.precision}\n")


def wrong(s: dict) -> int:
    """Questions whose reply is wrong: an answerable one without the right article first (an
    escalated one among them), a must-escalate one not escalated. The one number to choose a
    fitting procedure by: the issue's bar weighs both kinds."""
    return (s["answerable"] - s["top1"]) + (s["must"] - s["must_esc"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", type=Path, default=heldout.default_binary())
    ap.add_argument("--max-false-escalation", type=float, default=0.04)
    ap.add_argument("--clarify", type=float, help="use this clarify threshold instead of the fitted one")
    ap.add_argument("--self-calibration", action="store_true", help="leave self-calibration on")
    ap.add_argument("--mode", choices=heldout.MODES, action="append")
    ap.add_argument("--model", type=Path, default=REPO / "models" / "all-MiniLM-L6-v2",
                    help="the hybrid engine's model folder (default: the shipped MiniLM)")
    ap.add_argument("--languages", default="en",
                    help="the languages the model serves, comma-separated (default: en)")
    ap.add_argument("--precision", choices=["f32", "int8"], default="f32",
                    help="the model's linear layers (`semantic.precision`; default: f32)")
    args = ap.parse_args()
    modes = args.mode or list(heldout.MODES)
    if not args.bin.is_file():
        heldout.log(f"error: no binary at {args.bin}\n  hint: cargo build --release, or pass --bin")
        return 2
    totals = {m: dict(answerable=0, top1=0, must=0, must_esc=0, ans_esc=0) for m in modes}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        empty = work / "no-intents"
        empty.mkdir()
        shops = fit_shops(work)
        try:
            for name, test in shops:
                train = [d for _, d in shops if d != test]
                lexical = calibrate(args.bin, train, "lexical", args, empty, work)
                hybrid = calibrate(args.bin, train, "hybrid", args, empty, work)
                hybrid = hybrid.replace("semantic:\n", semantic_section(args), 1)
                config = work / f"fold-{name.split()[0]}.yaml"
                config.write_text(lexical + hybrid + f"self_calibration: {str(args.self_calibration).lower()}\n")
                for mode in modes:
                    s = heldout.stats(heldout.evaluate(args.bin, work, test / "questions.jsonl",
                                                       sources(test, empty), mode, config))["all"]
                    rows.append((mode, name, s))
                    for k in totals[mode]:
                        totals[mode][k] += s[k]
        except heldout.Failure as e:
            heldout.log(f"error: {e}")
            return 2
    pct = heldout.pct
    print("| engine | left out | top-1 | must-esc. escalated | answerable escalated | wrong replies |")
    print("|---|---|---|---|---|---|")
    for mode, name, s in [*rows, *((m, "**all folds**", t) for m, t in totals.items())]:
        print(f"| {mode} | {name} | {pct(s['top1'], s['answerable'])} | {pct(s['must_esc'], s['must'])} | "
              f"{pct(s['ans_esc'], s['answerable'])} | {pct(wrong(s), s['answerable'] + s['must'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
