"""A labgrid target's board port as a pyserial URL: what the pytest fixtures
use under `--lg-env`, so every serial suite runs unchanged against a place."""

from __future__ import annotations

from picostim.netport import network_url


def serial_url(resource) -> str:
    """The URL of a NetworkSerialPort, through labgrid's SSH proxy where LG_PROXY asks for one."""
    from labgrid.util.proxy import proxymanager

    host, port = proxymanager.get_host_and_port(resource)
    return network_url(resource.protocol, host, port)


def board_url(target) -> str:
    """The board's port on a target: through its PicostimStrategy when it has
    one (which first takes the board to a known state), else the port itself."""
    from labgrid.exceptions import NoDriverFoundError

    from picostim.lab.strategy import PicostimStrategy

    try:
        strategy = target.get_driver(PicostimStrategy)
    except NoDriverFoundError:
        return serial_url(target.get_resource("NetworkSerialPort"))
    strategy.transition("ready")
    return strategy.url
