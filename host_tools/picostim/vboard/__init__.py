"""The virtual board: the firmware under the MicroPython unix port, the
emulated chip in this process, a pseudo-terminal as its USB serial port."""

# A Pico leaves about 192 KB of heap to Python; here the host stand-ins for the
# built-in `rp2`/`machine` modules (in flash on a Pico) take about 32 KB more.
HEAP = "224K"
