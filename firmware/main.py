"""picostim firmware entry point: load the board profile, build the objects,
run the service loop; on any exit (Ctrl-C, an error) stimulation stops
without cutting a pulse short and every output goes low."""

import sys

sys.path.append("/lib")

from picostim import board  # noqa: E402  (/lib/picostim: one package, no name shared with a user's modules)
from picostim.pulse_engine import PulseEngine  # noqa: E402


def run(root="/"):
    try:
        profile = board.load(root + "board.json")
    except (OSError, ValueError, KeyError) as e:  # no pin map: leave every pin as reset left it (pulled down)
        print("picostim: no usable %sboard.json (%r): not starting" % (root, e))
        return
    engine = PulseEngine(profile)  # outputs low before anything else runs
    try:
        from picostim import service

        service.serve(profile, engine, root)
    finally:
        engine.halt()  # the pulse in progress completes; then every output low


if __name__ == "__main__":
    run()
