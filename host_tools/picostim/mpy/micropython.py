"""Host stand-in for MicroPython's `micropython` module."""


def const(value):
    return value


def native(func):
    return func


def viper(func):
    return func


def kbd_intr(chr):
    return None
