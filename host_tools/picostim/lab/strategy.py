"""PicostimStrategy: labgrid takes a picostim board to a known state.

    unknown -> deployed   picostim deploy over the place's port (mpremote: the
                          firmware as .mpy, the board profile, the key), which
                          ends with a reset
    -> ready              the port is opened again until the firmware answers
                          HELLO (it serves only after EVT READY), and with a
                          key the clinician logs in once; with a power driver
                          on the place, the board is power-cycled first

In an environment file (boards/lab/picostim-env.yaml):

    targets:
      main:
        resources:
          RemotePlace: {name: !template $LG_PLACE}
        drivers:
          PicostimStrategy: {deploy: true, board: pico, key: device.key}

ready_timeout: seconds the board may take to answer after a reset (120);
answer_timeout: seconds one answer may take (5; a full-chip virtual board
needs about a minute).
    imports: [picostim.lab.strategy]
"""

from __future__ import annotations

import enum
import subprocess
import sys

import attr
from labgrid.factory import target_factory
from labgrid.strategy import Strategy, StrategyError, never_retry

from picostim.lab.place import serial_url


class Status(enum.Enum):
    unknown = 0
    deployed = 1
    ready = 2


@target_factory.reg_driver
@attr.s(eq=False)
class PicostimStrategy(Strategy):
    bindings = {"port": "NetworkSerialPort", "power": {"PowerProtocol", None}}

    status = attr.ib(default=Status.unknown)
    deploy = attr.ib(default=False, validator=attr.validators.instance_of(bool))
    board = attr.ib(default="pico", validator=attr.validators.instance_of(str))
    key = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    ready_timeout = attr.ib(default=120.0, validator=attr.validators.instance_of((int, float)))
    answer_timeout = attr.ib(default=5.0, validator=attr.validators.instance_of((int, float)))
    deploy_output = ""  # what the last deploy printed

    @property
    def url(self) -> str:
        return serial_url(self.port)

    @never_retry
    def transition(self, status):
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            return
        if status == Status.deployed or (status == Status.ready and self.deploy and self.status != Status.deployed):
            self._deploy()
            self.status = Status.deployed
        if status == Status.ready:
            self._wait_ready()
        self.status = status

    def _deploy(self) -> None:
        # --wait 0: reaching "ready" waits for the firmware (_wait_ready), with the place's own timeouts
        argv = [sys.executable, "-m", "picostim.cli", "deploy", "--port", self.url, "--board", self.board]
        argv += ["--wait", "0"]
        if self.key:
            argv += ["--key", self.key]
        done = subprocess.run(argv, capture_output=True, text=True)
        self.deploy_output = done.stdout + done.stderr
        self.logger.info("picostim deploy to %s: %s", self.url, self.deploy_output.strip())
        if done.returncode:
            raise StrategyError(f"picostim deploy to {self.url} failed: {(done.stderr or done.stdout).strip()}")

    def _wait_ready(self) -> None:
        from picostim.programmer import Programmer, ProgrammerError

        if self.power is not None:
            self.target.activate(self.power)
            self.power.cycle()
        try:
            board = Programmer.when_ready(self.url, within=self.ready_timeout, timeout=self.answer_timeout)
        except ProgrammerError as exc:
            raise StrategyError(f"the board on {self.url} did not answer HELLO: {exc}") from exc
        with board:
            if self.key:  # a board with another key fails here, not in the middle of a suite
                from picostim.auth import load_key

                try:
                    board.login(load_key(self.key))
                    board.logout()
                except ProgrammerError as exc:
                    raise StrategyError(f"the board on {self.url} refused the clinician login: {exc}") from exc
