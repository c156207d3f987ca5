# The pulse engine under MicroPython, driving the chip model over the virtual
# board's text link (chip_link.py), one command per stdin line:
#
#     micropython engine_over_link.py REQUEST REPLY FIRMWARE_LIB STAND_INS BOARD_JSON
#
#     start {program fields}            engine.start
#     update {program fields}           engine.update, then poll until settled
#     train {"program": {...}, "intervals_us": [...], "loop": bool}
#     wait_idle                         poll until the engine is idle
#     stop                              engine.stop, then poll until idle
#
# Answers "DONE <state> <source>" after each command, "ERR <text>" on an error.
import json
import sys

request_path, reply_path, lib, stand_ins, board_path = sys.argv[1:6]
sys.path.append(stand_ins)
sys.path.append(lib)

import _chip  # noqa: E402
from chip_link import ChipLink  # noqa: E402

_chip.backend = ChipLink(request_path, reply_path)

from picostim.pulse_engine import PulseEngine  # noqa: E402
from picostim.stim_program import Program, timing, train_cycles  # noqa: E402

with open(board_path) as f:
    board = json.load(f)
limits = board["limits"]
sys_hz = board["sys_clock_hz"]
engine = PulseEngine(board)


def program(fields):
    p = Program(**fields)
    p.validate(limits, board["contacts"]["count"])
    return p


def settle(done):
    while not done():
        engine.poll()


print("BOOT")
while True:
    line = sys.stdin.readline()
    if not line:
        break
    command, _, arg = line.strip().partition(" ")
    try:
        if command == "start":
            p = program(json.loads(arg))
            engine.start(timing(p, sys_hz), p)
        elif command == "update":
            p = program(json.loads(arg))
            engine.update(timing(p, sys_hz), p)
            settle(lambda: not engine.pending())
        elif command == "train":
            spec = json.loads(arg)
            p = program(spec["program"])
            cycles = train_cycles(p, spec["intervals_us"], limits, sys_hz)
            engine.start_train(timing(p, sys_hz), p, cycles, spec["loop"])
        elif command == "wait_idle":
            settle(lambda: engine.state == "idle")
        elif command == "stop":
            engine.stop()
            settle(lambda: engine.state == "idle")
        else:
            raise ValueError("unknown command " + command)
        print("DONE", engine.state, engine.source)
    except Exception as e:  # noqa: BLE001
        print("ERR", repr(e))
