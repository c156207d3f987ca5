"""The full-chip virtual Pico: MicroPython's own RPI_PICO image in rp2040py's
whole-chip emulation (`picostim sim --firmware`). The firmware gets onto it
as onto a real Pico, through `picostim deploy` (mpremote over the pty); with
labgrid installed (`make lab-setup`), as in a rack: PicostimStrategy deploys
through the pty exported by a real labgrid exporter (tests_host/lab_deploy.py).

The emulated chip runs at about 1% of real time and a boot into the firmware
costs about a minute of CPU, so one module fixture plays one whole session
(blank board, deploy, protocol, a pulse train with a trace) and the tests
check its parts; one more boot checks what the flash file kept. No assert is
on wall time; the pulse timing is read from the trace, in emulated time.

Skipped without an image ($PICOSTIM_FIRMWARE, or RPI_PICO-v1.28.0.uf2 in
../shared/micropython/ beside the checkout).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import serial
from picostim.auth import load_key, new_key
from picostim.fullchip import ANSWER_S
from picostim.fullchip.image import ENV, SHARED_IMAGE, find_image
from picostim.fullchip.launch import FullChipProcess, wait_for_line
from picostim.measure import measure, read_vcd
from picostim.programmer import Programmer
from serial_helpers import BOARD, PERSIST_S

IMAGE = find_image()
pytestmark = pytest.mark.skipif(
    IMAGE is None,
    reason=f"no MicroPython RPI_PICO image (${ENV}={os.environ.get(ENV, '')!r}, nothing at {SHARED_IMAGE})",
)
LAB_PYTHON = Path(__file__).resolve().parents[1] / ".venv-lab" / "bin" / "python"  # labgrid (`make lab-setup`)
TRAIN = {"amp": "2mA", "pw": "100us", "ipg": "20us", "rate": "1kHz", "asym": 1, "cathodes": [2], "anodes": [3]}


def _repl_prompt(port: str, timeout: float = ANSWER_S) -> bytes:
    """Ask the REPL for a prompt; everything read until it came."""
    with serial.Serial(port, 115200, timeout=0.5) as link:
        link.write(b"\r\n")
        seen = b""
        deadline = time.monotonic() + timeout
        while b">>> " not in seen and time.monotonic() < deadline:
            seen += link.read(256)
        return seen


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """One session on a blank board: deploy, then the protocol and a pulse train."""
    assert IMAGE is not None
    root = tmp_path_factory.mktemp("fullchip")
    key_file = root / "device.key"
    key_file.write_text(new_key() + "\n")
    run = SimpleNamespace(flash=root / "flash.img", trace=root / "t.vcd", key=load_key(str(key_file)))
    with FullChipProcess(IMAGE, flash=run.flash, trace=run.trace) as sim:
        run.prompt = _repl_prompt(sim.port)
        if LAB_PYTHON.exists():  # as a rack does: through a labgrid place's exported port
            argv = [str(LAB_PYTHON), str(Path(__file__).with_name("lab_deploy.py")), sim.port, str(key_file)]
        else:
            argv = [sys.executable, "-m", "picostim.cli", "deploy", "--port", sim.port, "--key", str(key_file)]
            argv += ["--wait", "0"]  # the boot's EVT READY is read below
        run.deploy = subprocess.run(argv, capture_output=True, text=True, timeout=3 * 3600)
        assert run.deploy.returncode == 0, run.deploy.stdout + run.deploy.stderr
        run.boot = wait_for_line(sim.port, b"EVT READY", ANSWER_S)  # deploy ends with a reset
        with Programmer(sim.port, timeout=ANSWER_S) as board:
            run.hello = board.hello
            run.first = board.status()
            board.login(run.key)
            board.set(ramp="0ms", **TRAIN)
            run.on = board.on()
            sim.run_for(0.03)
            run.stop = board.stop()
            sim.run_for(0.002)
            run.train_end_ns = sim.clock_ns()  # the lead check's pulses come later
            run.refused = board.send("SET amp=99mA")
            run.after_refusal = board.status()
            run.kept = board.set(amp="3.1mA")
            sim.run_for(PERSIST_S)  # the host quiet: the change reaches the flash
            run.diag = dict(w.split("=", 1) for w in board.send("DIAG").split()[1:] if "=" in w)
            run.lead = board.impedance(3)  # the dummy lead behind the ADC, as on the fast board
            sim.control("contact 5 break")
            run.broken = board.impedance(5)
    return run


def test_a_blank_board_boots_to_the_repl(played):
    assert b">>> " in played.prompt


def test_deploy_installs_the_firmware_and_it_starts(played):
    assert "mpy-cross compiled" in played.deploy.stdout
    if LAB_PYTHON.exists():
        assert "deploying through rfc2217://127.0.0.1:" in played.deploy.stdout, played.deploy.stdout
    assert b"EVT READY picostim" in played.boot
    assert (played.hello.board, played.hello.protocol) == ("pico", 2)


def test_it_serves_the_protocol(played):
    assert played.first.fault == "-"  # its MPU-6050 answered on I2C0 (without it: ACCEL)
    assert played.on.state == "on"
    assert played.stop.state in ("stopping", "off")
    assert played.refused.startswith("ERR RANGE")
    assert played.after_refusal.amp_ua == 2000  # refused: nothing changed


def test_a_pulse_train_in_the_trace_is_exact(played):
    """100 us / 20 us / 1 kHz on the rp2 port's own PIO and DMA, stepped by
    the system clock: every pulse to the cycle."""
    changes = read_vcd(str(played.trace))
    train = {wire: [(t, v) for t, v in edges if t <= played.train_end_ns] for wire, edges in changes.items()}
    pulses = measure(train, BOARD)
    steady = [p for p in pulses if p.period_ns is not None]
    assert len(steady) >= 20
    for pulse in steady:
        assert pulse.problems == []
        assert (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns) == (100_000, 20_000, 100_000)
        assert pulse.period_ns == 1_000_000
        assert (pulse.cathodes, pulse.anodes) == ([2], [3])
        assert pulse.balanced is True


def test_the_lead_check_reads_the_dummy_lead_through_the_adc(played):
    """IMPEDANCE on the rp2 port's ADC, fed by the front-end model: the profile's
    dummy lead reads within tolerance, and a broken contact reads open."""
    assert [r.name for r in played.lead.results] == ["c3", "pair2-3", "pair3-4"]
    for result in played.lead.results:
        assert result.status == "ok", result
        assert abs(result.ohms - result.expected_ohms) <= result.expected_ohms * played.lead.tolerance_pct / 100
    verdicts = {r.name: r.status for r in played.broken.results}
    assert verdicts == {"c5": "open", "pair4-5": "open", "pair5-6": "open"}, played.broken


def test_settings_survive_a_restart_from_the_flash_file(played):
    assert played.kept.amp_ua == 3100
    assert played.diag["unsaved"] == "0" and int(played.diag["saves"]) >= 1, played.diag
    with FullChipProcess(IMAGE, flash=played.flash) as sim, Programmer(sim.port, timeout=ANSWER_S) as board:
        assert board.status().amp_ua == 3100


def test_a_bad_flash_file_is_refused_and_left_alone(tmp_path):
    flash = tmp_path / "flash.img"
    flash.write_bytes(b"not a flash image")
    result = subprocess.run(
        [sys.executable, "-m", "picostim.cli", "sim", "--firmware", str(IMAGE), "--flash", str(flash)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "expected exactly" in result.stderr
    assert flash.read_bytes() == b"not a flash image"


def _repl_line(link: serial.Serial, line: str, timeout: float = ANSWER_S) -> str:
    """One line typed at the REPL; what it printed before the next prompt."""
    link.write(line.encode() + b"\r")
    seen = b""
    deadline = time.monotonic() + timeout
    while not seen.endswith(b">>> ") and time.monotonic() < deadline:
        seen += link.read(256)
    return seen.decode(errors="replace").split("\r\n", 1)[-1].rsplit(">>> ", 1)[0].strip()


def test_the_accelerometer_answers_on_i2c0_as_the_profile_wires_it():
    """The rp2 port's machine.I2C(0) on GP0/GP1 reaches the board's MPU-6050
    (address 0x68): WHO_AM_I, wake-up, one coherent 6-byte sample in the
    posture set from outside; an address with nothing behind it is an OSError."""
    assert IMAGE is not None
    with FullChipProcess(IMAGE) as sim, serial.Serial(sim.port, 115200, timeout=0.5) as link:
        _repl_prompt(sim.port)
        sim.control("posture supine")
        _repl_line(link, "from machine import I2C, Pin; i = I2C(0, sda=Pin(0), scl=Pin(1), freq=400000)")
        assert _repl_line(link, "i.readfrom_mem(0x68, 0x75, 1)") == "b'h'"  # WHO_AM_I 0x68
        assert _repl_line(link, "list(i.readfrom_mem(0x68, 0x3B, 6))") == "[0, 0, 0, 0, 0, 0]"  # asleep
        _repl_line(link, "i.writeto_mem(0x68, 0x6B, b'\\x01')")
        _repl_line(link, "import struct")
        x, y, z = ast.literal_eval(_repl_line(link, "struct.unpack('>hhh', i.readfrom_mem(0x68, 0x3B, 6))"))
        assert abs(x) < 200 and abs(y) < 200 and abs(abs(z) - 16384) < 200, (x, y, z)  # 1 g on the body Z axis
        assert "OSError" in _repl_line(link, "i.readfrom_mem(0x69, 0x75, 1)")
