"""Where the shared real-world mail corpus lives (it is not copied into the repo)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    candidates = [
        os.environ.get("SMARTBCC_CORPUS"),
        ROOT.parent / "shared" / "corpus",
        Path("/work/shared/corpus"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise RuntimeError(
        "The shared mail corpus was not found; set SMARTBCC_CORPUS to the folder "
        "holding flanker/, talon/, quotequail/ and cpython/."
    )


def corpus_files(pattern: str = "**/*") -> list[Path]:
    """Every mail-like file of the corpus (licence and README files left out)."""
    skip = {"LICENSE", "README.md"}
    return sorted(
        p for p in corpus_dir().glob(pattern)
        if p.is_file() and p.name not in skip and not p.name.startswith("LICENSE")
    )
