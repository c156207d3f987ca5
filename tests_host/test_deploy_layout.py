"""What `picostim deploy` does to a board's /lib before it copies the package,
run under MicroPython's unix port on a directory standing in for the flash."""

import subprocess

from mpy_checks import micropython
from picostim import deploy


def test_prepare_lib_keeps_the_users_modules_and_drops_only_picostims_leftovers(tmp_path):
    lib = tmp_path / "lib"
    (lib / "picostim").mkdir(parents=True)
    for name in ("service.mpy", "board.mpy", "mine.py", "mine.mpy", "picostim/old.py", "picostim/store.mpy"):
        (lib / name).write_bytes(b"x")
    code = deploy._prepare_lib().replace("'/lib", f"'{lib}")
    result = subprocess.run([micropython(), "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    left = sorted(str(p.relative_to(lib)) for p in lib.rglob("*"))
    # the flat modules of a deploy from before the package, and stale sources in the package, go
    assert left == ["mine.mpy", "mine.py", "picostim", "picostim/store.mpy"]


def test_prepare_lib_makes_the_package_directory_on_a_blank_flash(tmp_path):
    code = deploy._prepare_lib().replace("'/lib", f"'{tmp_path}/lib")
    result = subprocess.run([micropython(), "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "lib" / "picostim").is_dir()
