#!/usr/bin/env python3
"""Lexical vs hybrid on every labelled set: one Markdown table for the README's Quality section.

Runs the release binary twice on each set: with the model (hybrid: lexical + sentence
embeddings) and with --lexical-only.

    cargo build --release && python3 bench/compare.py

- tests/eval/questions.jsonl (held out), per language: top-1, answerable escalated,
  must-escalate escalated. The demo shop's concierge.yaml carries both calibrations (top level:
  lexical; `semantic:`: hybrid, fitted with the model on); the binary uses the one of the engine
  it runs.
- bitext-customer-service test, and banking77-oos test (in scope), id-oos/test and ood-oos/valid,
  through bench/datasets.py. banking77 is calibrated per engine: `calibrate` runs with the model
  on for the hybrid rows and with --lexical-only for the lexical ones.

Then, for banking77-oos, the trade-off the confidence threshold allows: escalating below a
threshold t (the engine escalates below its clarify threshold), how many in-scope questions
stay right and how many out-of-scope ones escalate, read from the `eval --dump` confidences.

Before measuring, each engine says which it is (`ask --explain`): a hybrid run that silently
fell back to lexical would stop the script.

Python 3 standard library only. Exit status: 0, or 2 when a step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402  (bench/datasets.py)

REPO = datasets.REPO
MODES = ("lexical", "hybrid")
LANGS = ("en", "es", "nl", "pt")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def env_for(mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONCIERGE_CONFIG", "CONCIERGE_LOG")}
    env.setdefault("CONCIERGE_MODEL", str(REPO / "models" / "all-MiniLM-L6-v2"))
    env["CONCIERGE_LEXICAL_ONLY"] = "true" if mode == "lexical" else "false"
    return env


def run(binary: Path, mode: str, args: list[str]) -> subprocess.CompletedProcess:
    p = subprocess.run([str(binary), *args], cwd=REPO, env=env_for(mode), capture_output=True, text=True)
    if p.returncode != 0:
        raise datasets.Failure(f"`concierge {' '.join(args)}` ({mode}) exited with {p.returncode}\n{p.stderr.strip()}")
    return p


def check_engine(binary: Path, mode: str) -> None:
    """The engine names itself in `ask --explain`: a hybrid run must really be hybrid."""
    err = run(binary, mode, ["ask", "--explain", "where is my parcel"]).stderr
    want = "engine: hybrid" if mode == "hybrid" else "engine: lexical"
    if want not in err:
        raise datasets.Failure(f"the {mode} run is not {want!r}:\n{err.strip()}\n  hint: scripts/setup-model")


def own_set(binary: Path, mode: str) -> dict:
    t0 = time.monotonic()
    p = run(binary, mode, ["eval", "tests/eval/questions.jsonl", "--json"])
    log(f"  questions.jsonl ({mode}): {time.monotonic() - t0:.1f} s")
    return json.loads(p.stdout)


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def own_rows(report: dict[str, dict]) -> list[tuple]:
    """(set, split, metric, n, {mode: value}, bar) rows of the project's held-out set."""
    rows = []
    groups = [(lang, lambda r, lang=lang: r["by_language"][lang]) for lang in LANGS]
    groups.append(("all", lambda r: r["total"]))
    for name, get in groups:
        g = {m: get(report[m]) for m in MODES}
        any_g = g["hybrid"]
        bar = "≥ 90%" if name == "en" else "≥ 85%" if name != "all" else ""
        rows.append(("questions.jsonl", name, "top-1", any_g["answerable"],
                     {m: ratio(g[m]["top1"], g[m]["answerable"]) for m in MODES}, bar))
        rows.append(("questions.jsonl", name, "must-escalate escalated", any_g["must_escalate"],
                     {m: ratio(g[m]["must_escalate_escalated"], g[m]["must_escalate"]) for m in MODES},
                     "≥ 80%" if name == "all" else ""))
        rows.append(("questions.jsonl", name, "answerable escalated", any_g["answerable"],
                     {m: ratio(g[m]["answerable_escalated"], g[m]["answerable"]) for m in MODES},
                     "≤ 5%" if name == "all" else ""))
    return rows


def dataset_rows(res: dict[str, list[dict]]) -> list[tuple]:
    """Rows from bench/datasets.py's rows, per mode."""
    by = {m: {(r["dataset"], r["split"]): r for r in res[m]} for m in MODES}
    spec = [
        ("bitext", "test", "intent accuracy", "intent_accuracy", "≥ 93%"),
        ("bitext", "test, without the train overlap", "intent accuracy", "intent_accuracy", ""),
        ("banking77-oos", "test (in scope)", "in-scope accuracy", "in_scope_accuracy", "≥ 90%"),
        ("banking77-oos", "test (in scope)", "intent accuracy (ranking alone)", "intent_accuracy", ""),
        ("banking77-oos", "test (in scope)", "escalated", "escalated", ""),
        ("banking77-oos", "id-oos/test (out of scope)", "escalated", "escalated", "≥ 60%"),
        ("banking77-oos", "ood-oos/valid (out of scope)", "escalated", "escalated", "≥ 80%"),
    ]
    rows = []
    for ds, split, metric, key, bar in spec:
        if (ds, split) not in by["hybrid"]:
            continue
        rows.append((ds, split, metric, by["hybrid"][(ds, split)]["n"],
                     {m: by[m][(ds, split)].get(key) for m in MODES}, bar))
    return rows


def met(value: float | None, bar: str) -> str:
    if value is None or not bar:
        return ""
    limit = float(bar.split()[1].rstrip("%")) / 100
    ok = value >= limit if bar.startswith("≥") else value <= limit
    return " ✅" if ok else " ❌"


def markdown(rows: list[tuple]) -> str:
    out = ["| set | split / language | metric | n | lexical | hybrid | bar |", "|---|---|---|---:|---:|---:|---|"]
    for s, split, metric, n, v, bar in rows:
        out.append(f"| {s} | {split} | {metric} | {n} | {pct(v['lexical'])} | "
                   f"{pct(v['hybrid'])}{met(v['hybrid'], bar)} | {bar} |")
    return "\n".join(out)


def read_dump(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tradeoff(out: Path) -> str:
    """banking77-oos: escalate below confidence t, for the t that first lets ≥ 60% of id-oos/test
    escalate, and the ceiling (escalate nothing)."""
    lines = ["| engine | confidence below which it escalates | in-scope right, not escalated | id-oos/test escalated | ood-oos/valid escalated |",
             "|---|---:|---:|---:|---:|"]
    for mode in MODES:
        d = out / mode / "banking77"
        test = read_dump(d / "test.dump.jsonl")
        idoos = read_dump(d / "id-oos-test.dump.jsonl")
        ood = read_dump(d / "ood-oos-valid.dump.jsonl")

        def point(t: float) -> tuple[float, float, float]:
            right = sum(o["reply"]["intent"] == o["expect"]["Target"] and o["reply"]["confidence"] >= t for o in test)
            esc = lambda xs: sum(o["reply"]["confidence"] < t for o in xs) / len(xs)  # noqa: E731
            return right / len(test), esc(idoos), esc(ood)

        cands = sorted({round(o["reply"]["confidence"], 4) for o in idoos + test + ood})
        target = next((t for t in cands if point(t)[1] >= 0.6), None)
        for label, t in (("escalate nothing", 0.0), ("first t with ≥ 60% id-oos", target)):
            if t is None:
                continue
            a, b, c = point(t)
            lines.append(f"| {mode} | {label}: {t:.3f} | {pct(a)} | {pct(b)} | {pct(c)} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=datasets.default_binary(),
                    help="the concierge binary, built with the semantic layer (default: as bench/datasets.py)")
    ap.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets",
                    help="folder holding bitext-customer-service/ and banking77-oos/ (default: ../shared/datasets)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "compare",
                    help="work folder (default: bench/out/compare)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args()

    binary = args.bin.resolve()
    if not binary.is_file():
        log(f"error: no binary at {binary}\n  hint: run `cargo build --release`, or pass --bin PATH")
        return 2
    out = args.out.resolve()
    t0 = time.monotonic()
    try:
        for mode in MODES:
            check_engine(binary, mode)
        report = {m: own_set(binary, m) for m in MODES}
        ds_rows = {}
        for mode in MODES:
            log(f"public datasets ({mode})")
            work = out / mode
            work.mkdir(parents=True, exist_ok=True)
            empty_kb = work / "kb-empty"
            empty_kb.mkdir(exist_ok=True)
            runner = datasets.Runner(binary, work, lexical_only=mode == "lexical")
            ds_rows[mode] = datasets.bitext(args.datasets / "bitext-customer-service", work / "bitext", runner, empty_kb, ())
            ds_rows[mode] += datasets.banking77(args.datasets / "banking77-oos", work / "banking77", runner, empty_kb, (), 0.04)
    except datasets.Failure as e:
        log(f"error: {e}")
        return 2
    rows = own_rows(report) + dataset_rows(ds_rows)
    if args.json:
        json.dump({"rows": [dict(zip(("set", "split", "metric", "n", "values", "bar"), r)) for r in rows],
                   "binary": str(binary)}, sys.stdout, indent=2)
        print()
    else:
        print(markdown(rows))
        print()
        print("banking77-oos, the threshold trade-off (from the `eval --dump` confidences):")
        print()
        print(tradeoff(out))
    log(f"total {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
