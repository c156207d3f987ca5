"""picostim firmware entry point: load the board profile, build the objects,
run the service loop; on any exit (Ctrl-C, an error) stimulation stops
without cutting a pulse short and every output goes low."""

import sys

sys.path.append("/lib")

import board  # noqa: E402
from pulse_engine import PulseEngine  # noqa: E402


def run(root="/"):
    profile = board.load(root + "board.json")
    engine = PulseEngine(profile)  # outputs low before anything else runs
    try:
        import service

        service.serve(profile, engine, key_path=root + "device.key")
    finally:
        engine.halt()  # the pulse in progress completes; then every output low


if __name__ == "__main__":
    run()
