"""The virtual board: the firmware under the MicroPython unix port, the
emulated chip in this process, a pseudo-terminal as its USB serial port."""

# A Pico leaves about 192 KB of heap to Python. Here the unix port is 64-bit
# (pointers and GC blocks twice a Pico's size), the host stand-ins for the
# built-in `rp2`/`machine` modules and the emulated clock behind `time` and
# `select` (all in flash on a Pico) take about 40 KB more, and their names push
# the table of interned names into its next pool, 14 KB taken at boot (see
# mpy/vboard_main.py). The firmware boots from 256K up.
HEAP = "260K"
