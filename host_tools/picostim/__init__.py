"""picostim host tools: programmer client, virtual board, capture measurement."""

__version__ = "0.5.0"

from picostim.programmer import Programmer, ProgrammerError, Status  # noqa: E402

__all__ = ["Programmer", "ProgrammerError", "Status", "__version__"]
