"""Virtual-board boot (runs under MicroPython): attach the chip link, put the
chip's clock behind `time` and `select` (emulated_time, emulated_select), then
run the firmware's main.py unchanged.

    micropython vboard_main.py REQUEST_FIFO REPLY_FIFO FIRMWARE_DIR FLASH_DIR LIB_DIR

FLASH_DIR stands in for the Pico's flash filesystem root (board.json,
device.key, settings, the event log); LIB_DIR holds the firmware's package
(picostim/*.mpy) as `picostim deploy` builds it, so the heap sees what a Pico's does.

MicroPython keeps interned names (qstrs) in pools that double in size; a new
pool is one block (1280 entries: 14 KB on this 64-bit port). The stand-ins
for `machine` and `rp2`, built into a Pico's flash, put some 330 names into
those pools here, so the firmware's names end just short of the 1260th,
where the next pool starts: the first name interned at run time (a new
string from the host can be one) would need 14 KB in one piece of a heap
that is long fragmented by then, and the command would fail with MEMORY.
So before the firmware runs, its modules are loaded and placeholder names
added until that pool exists (at most PAD_MOST of them; none when the
boundary is not near).
"""

import sys

request_path, reply_path, firmware_dir, flash_dir, lib_dir = sys.argv[1:6]
sys.path.append(lib_dir)
sys.path.append(firmware_dir)

import _chip  # noqa: E402
from chip_link import ChipLink  # noqa: E402

_chip.backend = ChipLink(request_path, reply_path)

# One clock: the firmware's time and waits are the emulated chip's.
import emulated_select  # noqa: E402
import emulated_time  # noqa: E402

sys.modules["time"] = sys.modules["utime"] = emulated_time
sys.modules["select"] = sys.modules["uselect"] = emulated_select
PAD_MOST = 64


def _grow_name_pool():
    import gc
    import os

    for name in sorted(os.listdir(lib_dir + "/picostim")):
        if name.endswith(".mpy"):
            try:
                __import__("picostim." + name[:-4])
            except Exception:  # noqa: BLE001  (main.py reports what does not load)
                pass
    gc.collect()
    last = gc.mem_alloc()
    for i in range(PAD_MOST):
        getattr(_chip, "_pad%d" % i, None)  # interns the name
        now = gc.mem_alloc()
        if now - last > 8192:  # the new pool
            return
        last = now


_grow_name_pool()

import main  # noqa: E402

main.run(flash_dir + "/")
