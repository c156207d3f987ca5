"""The virtual board: the firmware under the MicroPython unix port, the
emulated chip in this process, a pseudo-terminal as its USB serial port."""

# The firmware must not find more free heap here than on a Pico. On the
# full-chip board (the real rp2 binary) it has about 119 KB free after boot
# (heap_live 120 KB of some 239 KB; docs/VIRTUAL_BOARDS.md). Here the unix
# port is 64-bit (pointers and GC blocks twice a Pico's size), the host
# stand-ins for `rp2`/`machine` and the emulated clock behind `time` and
# `select` (all in flash on a Pico) live on the heap, and their names push the
# table of interned names into its next pool, 14 KB taken at boot (see
# mpy/vboard_main.py): about 230 KB are live after boot (groups of several
# programs added some 14 KB of bytecode). At 288K it has about 60 KB free,
# half of what a Pico leaves it: still the stricter of the two.
HEAP = "288K"
