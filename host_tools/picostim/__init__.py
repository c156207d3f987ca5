"""picostim host tools: virtual board, programmer client, capture measurement."""

__version__ = "0.1.0"
