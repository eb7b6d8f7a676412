#!/usr/bin/env python3
"""Copies a knowledge base with the `questions:` list left out of every front matter: the
demo shop as a new shop would write it, where the default calibrations are fitted (the same
rule as `without_questions` in src/engine/selfcal.rs's tests).

    python3 bench/without-questions.py knowledge-base /tmp/kb-without-questions
"""

import sys
from pathlib import Path


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        out, in_questions = [], False
        for line in path.read_text().splitlines():
            if line.startswith("questions:"):
                in_questions = True
                continue
            if in_questions and (line.startswith("  ") or line.startswith("-")):
                continue
            in_questions = False
            out.append(line + "\n")
        target.write_text("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
