"""Link from the host `machine`/`rp2` stand-ins to the chip model.

Set `backend` to an object with the chip-model interface (see
picostim.chip.model.ChipModel) before the firmware runs.
"""

backend = None
