"""The full-chip virtual Pico: MicroPython's own RPI_PICO image running in
rp2040py's whole-chip emulation (Cortex-M0+, boot ROM, QSPI flash, USB CDC
behind a pty), so the firmware meets the rp2 port's C `machine`/`rp2`, its
heap and littlefs exactly as on a Pico.

    picostim sim --firmware RPI_PICO-v1.28.0.uf2 [--flash FILE] [--trace FILE.vcd]
"""

# Wall seconds a host waits for one answer or a boot: the board runs at about 2% of real time,
# so tens of ms of emulated time take seconds, and minutes on a loaded machine.
ANSWER_S = 900.0
