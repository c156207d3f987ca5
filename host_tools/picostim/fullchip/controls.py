"""Stdin controls of the full-chip board, as on the fast board where the chip
has the part: `clock` (prints CLOCK <emulated ns>), `wait <ms>` (prints it
once that much emulated time has passed), `power cycle` (a power-on reset:
RAM lost, flash kept; the accelerometer resets too), `reset` (the RUN pin),
`pin <n> 0|1` (drive a GPIO from outside), `button press|release` (the
BOOTSEL button), `posture ...` and `accel ...` (the MPU-6050 on I2C0) and
`contact <k> break|short|ok` (the dummy lead behind the ADC), as on the fast
board. The fast board's `fault raise|hang` break its chip link, which this
board does not have."""

from __future__ import annotations

import os
import sys

from rp2040py.device.base_device import ResetCause

from picostim.chip.mpu6050 import motion_from_words
from picostim.fullchip.board import FullChipBoard


class Controls:
    def __init__(self, board: FullChipBoard) -> None:
        self.board = board
        self._pending = b""

    def on_stdin_readable(self) -> None:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            import asyncio

            asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
            return
        self._pending += chunk
        while b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            reply = self.apply(line.decode(errors="replace").split())
            if reply:  # CLOCK lines on stdout (SimProcess reads them), the rest to the log, as on the fast board
                print(reply, file=sys.stdout if reply.startswith("CLOCK ") else sys.stderr, flush=True)

    def apply(self, words: list[str]) -> str:
        """One control line; an error line for one it does not know."""
        mcu = self.board.mcu
        if words == ["clock"]:
            return self._clock_line()
        if len(words) == 2 and words[0] == "wait":
            try:
                ms = float(words[1])
            except ValueError:
                return f"ERR wait takes milliseconds, not {words[1]!r}"
            alarm = self.board.simulator.clock.create_alarm(lambda: print(self._clock_line(), flush=True))
            alarm.schedule(max(ms, 0.0) * 1e6)
            return ""
        self.board.pio.catch_up()  # an outside change lands on the PIO's current cycle
        accel = self.board.accel
        if words[:1] in (["posture"], ["accel"]) and accel is not None:
            try:
                accel.set_motion(motion_from_words(words))
            except ValueError as exc:
                return f"ERR accelerometer: {exc}"
            return "accelerometer: " + accel.motion.describe()
        lead = self.board.lead
        if words[:1] == ["contact"] and lead is not None:
            try:
                return lead.set_fault(int(words[1]), words[2]) if len(words) == 3 else "ERR contact <k> break|short|ok"
            except ValueError as exc:
                return f"ERR contact: {exc}"
        if words == ["power", "cycle"]:
            self.board.device.hard_reset(cause=ResetCause.POWER_ON)
            if accel is not None:
                accel.reset()  # powered from the board's 3V3
        elif words == ["reset"]:
            self.board.device.hard_reset(cause=ResetCause.RUN_PIN)
        elif len(words) == 3 and words[0] == "pin" and words[1].isdigit() and words[2] in ("0", "1"):
            n = int(words[1])
            if n >= len(mcu.gpio):
                return f"ERR no pin {n}"
            mcu.gpio[n].set_input_value(words[2] == "1")
        elif len(words) == 2 and words[0] == "button" and words[1] in ("press", "release"):
            pin = mcu.qspi[1]  # BOOTSEL shorts QSPI_SS to ground
            if words[1] == "press":
                pin.set_input_value(False)
            else:
                pin.release_input()
        elif words:
            known = "clock, wait, power cycle, reset, pin, button" + (", posture, accel" if accel else "")
            known += ", contact" if lead else ""
            return f"ERR unknown control {' '.join(words)!r} (the full-chip board knows: {known})"
        return ""

    def _clock_line(self) -> str:
        return f"CLOCK {self.board.emulated_ns}"
