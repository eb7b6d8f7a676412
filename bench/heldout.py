#!/usr/bin/env python3
"""Held-out shops: how the engine does on shops nobody tuned it for, in one command.

    cargo build --release && python3 bench/heldout.py [--write docs/quality.md]

For the demo shop (the repository root: knowledge-base/, intents/, concierge.yaml,
tests/eval/questions.jsonl), every development shop under tests/devshops/*/ (fitted on, like
the demo shop) and every held-out shop under tests/shops/*/ (each: knowledge-base/, intents/
if any, questions.jsonl; no config file: the default configuration), runs the release binary's
`concierge eval FILE --dump …` (the path `eval`, `ask` and the service share), hybrid and
--lexical-only, and prints one Markdown table per shop, per language:

  answered    answerable questions answered outright with the right article (or intent)
  top-1       answerable questions whose reply names the right one first: answered, or the
              first "did you mean" choice (`concierge eval`'s top-1)
  in choices  answerable questions with the right one among the "did you mean" choices (not
              answered outright)
  must-esc.   must-escalate questions that escalated
  ans. esc.   answerable questions that escalated anyway

The held-out shops are measured here, never tuned on: do not read their questions to fit
weights, thresholds or word lists (see docs/quality.md).

--config FILE runs the hybrid engine on every shop with that config file (its `semantic:`
model, languages, thresholds and calibration; the shop's knowledge base and intents as
always), --demo-config FILE on the demo shop only (default: --config, else concierge.yaml).
The lexical runs keep their default configuration, unless --lexical-config FILE: then those
of every shop but the demo read FILE (to measure a candidate default calibration before it is
compiled in; bench/fit-defaults.sh fits one). docs/semantic-models.md measures
multilingual-e5-small this way, with calibrations fitted on the demo shop.

--write FILE replaces the part of FILE between the markers
`<!-- heldout:begin -->` and `<!-- heldout:end -->` with the tables, the date and the commit.

The binary is --bin, else $CONCIERGE_BIN, else $CARGO_TARGET_DIR/release/concierge, else
target/release/concierge. Python 3 standard library only. Exit status 0, or 2 when a step
failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LANGS = ("en", "es", "pt", "nl")
MODES = ("hybrid", "lexical")
BEGIN, END = "<!-- heldout:begin -->", "<!-- heldout:end -->"


class Failure(Exception):
    """A step failed: the message says which and why."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_binary() -> Path:
    if os.environ.get("CONCIERGE_BIN"):
        return Path(os.environ["CONCIERGE_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "concierge"


def shops() -> list[tuple[str, Path, Path, list[str]]]:
    """(name, working folder, labelled set, source arguments) of the demo shop and every
    held-out shop."""
    # Its folders named, so that a config file from elsewhere (--config) finds them too.
    demo = ["--kb", str(REPO / "knowledge-base"), "--intents", str(REPO / "intents")]
    out = [("demo (tuned on)", REPO, REPO / "tests" / "eval" / "questions.jsonl", demo)]
    # Development shops (fitted on, like the demo shop), then the held-out shops.
    for folder, label in (("devshops", "fit on"), ("shops", "held out")):
        root = REPO / "tests" / folder
        for shop in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            questions = shop / "questions.jsonl"
            kb = shop / "knowledge-base"
            if not questions.is_file() or not kb.is_dir():
                log(f"  skipped {shop}: no questions.jsonl or knowledge-base/")
                continue
            intents = shop / "intents"
            if not intents.is_dir():
                # No intents of its own: an empty folder (the built-in intents still apply).
                intents = Path(tempfile.mkdtemp(prefix="concierge-intents-"))
            out.append((f"{shop.name} ({label})", shop, questions, ["--kb", str(kb), "--intents", str(intents)]))
    return out


def env_for(mode: str, config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONCIERGE_CONFIG", "CONCIERGE_LOG")}
    if config is None:
        env.setdefault("CONCIERGE_MODEL", str(REPO / "models" / "all-MiniLM-L6-v2"))
    else:
        # The config file names the model (CONCIERGE_MODEL would override it).
        env.pop("CONCIERGE_MODEL", None)
    env["CONCIERGE_LEXICAL_ONLY"] = "true" if mode == "lexical" else "false"
    return env


def evaluate(binary: Path, cwd: Path, questions: Path, sources: list[str], mode: str,
             config: Path | None = None) -> list[dict]:
    """Every question's line of `eval --dump`."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump.jsonl"
        args = [str(binary), "eval", str(questions), *sources, "--dump", str(dump), "--json"]
        if config is not None:
            args += ["--config", str(config.resolve())]
        t0 = time.monotonic()
        p = subprocess.run(args, cwd=cwd, env=env_for(mode, config), capture_output=True, text=True)
        if p.returncode not in (0, 1) or not dump.is_file():
            raise Failure(f"`{' '.join(args)}` ({mode}) exited with {p.returncode}\n{p.stderr.strip()}")
        log(f"  {questions} ({mode}): {time.monotonic() - t0:.1f} s")
        return [json.loads(line) for line in dump.read_text().splitlines() if line.strip()]


def expected(o: dict) -> str | None:
    e = o["expect"]
    return None if e == "Escalate" else e["Target"]


def names(reply: dict, target: str) -> bool:
    return reply.get("article") == target or reply.get("intent") == target


def stats(outcomes: list[dict]) -> dict[str, dict[str, int]]:
    by: dict[str, dict[str, int]] = {}
    for o in outcomes:
        for key in (o["lang"], "all"):
            s = by.setdefault(key, dict(answerable=0, answered=0, top1=0, choices=0, ans_esc=0, must=0, must_esc=0))
            reply = o["reply"]
            escalated = reply["outcome"] == "escalate"
            target = expected(o)
            if target is None:
                s["must"] += 1
                s["must_esc"] += escalated
                continue
            s["answerable"] += 1
            s["top1"] += bool(o["top1"])
            s["ans_esc"] += escalated
            if reply["outcome"] == "answer":
                s["answered"] += names(reply, target)
            elif reply["outcome"] == "clarify":
                s["choices"] += any(names(c, target) for c in reply.get("suggestions", []))
    return by


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f} %" if b else "–"


def table(name: str, results: dict[str, dict]) -> str:
    lines = [f"**{name}**", "",
             "| engine | lang | questions | answered | top-1 | in choices | must-esc. escalated | answerable escalated |",
             "|---|---|---|---|---|---|---|---|"]
    for mode, by in results.items():
        for lang in [*[l for l in LANGS if l in by], "all"]:
            s = by[lang]
            lines.append(
                f"| {mode} | {lang} | {s['answerable']}+{s['must']} | {pct(s['answered'], s['answerable'])} | "
                f"{pct(s['top1'], s['answerable'])} | {pct(s['choices'], s['answerable'])} | "
                f"{pct(s['must_esc'], s['must'])} | {pct(s['ans_esc'], s['answerable'])} |")
    return "\n".join(lines)


def commit() -> str:
    p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return p.stdout.strip() + ("+uncommitted changes" if dirty else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", type=Path, default=default_binary(), help="the concierge binary")
    ap.add_argument("--mode", choices=MODES, action="append", help="only this engine (repeatable)")
    ap.add_argument("--shop", action="append", help="only shops whose name starts with this (repeatable)")
    ap.add_argument("--json", action="store_true", help="print the counts as JSON")
    ap.add_argument("--config", type=Path, help="the hybrid runs read this config file")
    ap.add_argument("--demo-config", type=Path, help="the demo shop's hybrid run reads this one")
    ap.add_argument("--lexical-config", type=Path, help="the lexical runs of every shop but the demo read this one")
    ap.add_argument("--write", type=Path, metavar="FILE", help="put the tables into FILE between the markers")
    args = ap.parse_args()
    modes = args.mode or list(MODES)
    if not args.bin.is_file():
        log(f"error: no binary at {args.bin}\n  hint: cargo build --release, or pass --bin")
        return 2
    results: dict[str, dict] = {}
    try:
        for name, cwd, questions, sources in shops():
            if args.shop and not any(name.startswith(s) for s in args.shop):
                continue
            config = (args.demo_config or args.config) if cwd == REPO else args.config
            lexical = None if cwd == REPO else args.lexical_config
            results[name] = {
                mode: stats(evaluate(args.bin, cwd, questions, sources, mode, config if mode == "hybrid" else lexical))
                for mode in modes
            }
    except Failure as e:
        log(f"error: {e}")
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    out = "\n\n".join(table(n, r) for n, r in results.items())
    configs = "".join(f" --{k.replace('_', '-')} {v}" for k, v in (("config", args.config), ("demo_config", args.demo_config), ("lexical_config", args.lexical_config)) if v)
    stamp = f"Measured {dt.date.today().isoformat()} at commit {commit()} by `python3 bench/heldout.py{configs}`."
    print(stamp + "\n\n" + out)
    if args.write:
        text = args.write.read_text() if args.write.is_file() else f"{BEGIN}\n{END}\n"
        if BEGIN not in text or END not in text:
            log(f"error: {args.write} has no {BEGIN} … {END} markers")
            return 2
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.write.write_text(f"{head}{BEGIN}\n{stamp}\n\n{out}\n{END}{tail}")
        log(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
