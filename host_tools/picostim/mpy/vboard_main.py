"""Virtual-board boot (runs under MicroPython): attach the chip link, then run
the firmware's main.py unchanged.

    micropython vboard_main.py REQUEST_FIFO REPLY_FIFO FIRMWARE_DIR FLASH_DIR LIB_DIR

FLASH_DIR stands in for the Pico's flash filesystem root (board.json,
device.key, settings, the event log); LIB_DIR holds the firmware modules
as `picostim deploy` builds them (.mpy), so the heap sees what a Pico's does.
"""

import sys

request_path, reply_path, firmware_dir, flash_dir, lib_dir = sys.argv[1:6]
sys.path.append(lib_dir)
sys.path.append(firmware_dir)

import _chip  # noqa: E402
from chip_link import ChipLink  # noqa: E402

_chip.backend = ChipLink(request_path, reply_path)

import main  # noqa: E402

main.run(flash_dir + "/")
