"""A flash image with this checkout's firmware deployed, made once per image,
firmware and key, and kept: a deploy onto the full-chip board takes minutes.

    flash = deployed_flash(image, key)   # ~/.cache/picostim/fullchip/<hash>.img
    with FullChipProcess(image, flash=copy_of(flash)) as sim: ...

The image is made as a user makes theirs: `picostim deploy` over the
board's pty onto a blank flash, then the board boots into the firmware once
(`EVT READY`) before the flash is kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from picostim.chip.firmware_host import ROOT
from picostim.fullchip import ANSWER_S
from picostim.fullchip.launch import FullChipProcess


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "picostim" / "fullchip"


def _fingerprint(image: Path, key: bytes, board: str) -> str:
    digest = hashlib.sha256(Path(image).read_bytes())
    digest.update(key)
    sources = sorted((ROOT / "firmware").rglob("*.py")) + [ROOT / "boards" / f"{board}.json"]
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def deployed_flash(image: Path, key: bytes, board: str = "pico", log=sys.stderr) -> Path:
    """The cached flash image for (image, firmware, key, board), made on a miss."""
    target = cache_dir() / f"{_fingerprint(image, key, board)}.img"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="picostim-deploy-") as work:
        flash, key_file = Path(work) / "flash.img", Path(work) / "device.key"
        key_file.write_text(key.hex() + "\n")
        print(f"picostim: deploying the firmware onto a full-chip board (once; kept as {target})", file=log)
        with FullChipProcess(image, flash=flash) as sim:
            argv = [sys.executable, "-m", "picostim.cli", "deploy", "--port", sim.port, "--board", board]
            argv += ["--key", str(key_file), "--wait", str(ANSWER_S)]  # deploy waits until the firmware answers
            env = dict(os.environ, PICOSTIM_TIMEOUT="60")  # its HELLO answered in seconds of wall time, once up
            result = subprocess.run(argv, capture_output=True, text=True, env=env)
            if result.returncode or "firmware started: picostim" not in result.stdout:
                raise RuntimeError(f"picostim deploy failed:\n{result.stdout}{result.stderr}")
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.copy(flash, partial)
        os.replace(partial, target)  # whole or not at all: another run may be reading or making it
    return target
