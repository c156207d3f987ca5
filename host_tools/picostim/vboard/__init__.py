"""The virtual board: the firmware under the MicroPython unix port, the
emulated chip in this process, a pseudo-terminal as its USB serial port."""
