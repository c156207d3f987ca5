"""`make deploy`: not built yet. Says so instead of pretending."""

import sys

if __name__ == "__main__":
    print("picostim deploy: not implemented yet (serial protocol work pending); nothing was written", file=sys.stderr)
    sys.exit(2)
