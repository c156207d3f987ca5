"""picostim firmware: the modules a Pico runs, as one package (/lib/picostim on the board).

Imports between them are relative, so the package works under any name: the
host tests load it as `picostim_fw` beside the host tools' own `picostim`."""
