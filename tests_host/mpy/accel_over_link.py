# The accelerometer driver under MicroPython, reading the chip model's MPU-6050
# through the machine.I2C stand-in over the virtual board's text link
# (chip_link.py), one command per stdin line:
#
#     micropython accel_over_link.py REQUEST REPLY FIRMWARE_LIB STAND_INS BOARD_JSON
#
#     read          -> "MG <x> <y> <z>" (accel.read_mg)
#     scan          -> "SCAN <addr> ..."
#     absent        -> "NACK errno <n>" of readfrom_mem at an address nobody ACKs
#     probe         -> "NACK errno <n>" of a zero-length write there
#     regs <a> <n>  -> "REGS <hex>" (readfrom_mem)
#
# Prints "BOOT" once the driver has woken the part; "ERR <text>" on an error.
import json
import sys

request_path, reply_path, lib, stand_ins, board_path = sys.argv[1:6]
sys.path.append(stand_ins)
sys.path.append(lib)

import _chip  # noqa: E402
from chip_link import ChipLink  # noqa: E402

_chip.backend = ChipLink(request_path, reply_path)

import machine  # noqa: E402
from picostim.accel import Accelerometer  # noqa: E402

with open(board_path) as f:
    board = json.load(f)
accel = Accelerometer(board)
bus = board["i2c"]
i2c = machine.I2C(bus["id"], scl=machine.Pin(bus["scl"]), sda=machine.Pin(bus["sda"]))


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


print("BOOT")
while True:
    line = sys.stdin.readline()
    if not line:
        break
    words = line.split()
    try:
        if words == ["read"]:
            x, y, z = accel.read_mg()
            print("MG %d %d %d" % (x, y, z))
        elif words == ["scan"]:
            print("SCAN " + " ".join("%d" % a for a in i2c.scan()))
        elif words == ["absent"]:
            print("NACK errno %d" % errno_of(i2c.readfrom_mem, 0x69, 0x75, 1))
        elif words == ["probe"]:
            print("NACK errno %d" % errno_of(i2c.writeto, 0x69, b""))
        elif words[:1] == ["regs"]:
            data = i2c.readfrom_mem(accel.address, int(words[1]), int(words[2]))
            print("REGS " + "".join("%02x" % b for b in data))
        else:
            print("ERR unknown command %r" % line)
    except Exception as e:  # noqa: BLE001
        print("ERR %s %s" % (type(e).__name__, e))
