"""Lead impedance on the emulated chip, in this process: the firmware's lead
check (impedance.py over the pulse engine and machine.ADC) against the chip
model's front end (picostim.chip.frontend: the dummy lead, the sense
amplifier, faults). A healthy lead, then every contact broken and every
contact shorted in turn: each measurement within its tolerance of what the
resistor network gives, every measuring pulse charge balanced, every output
low afterwards. The pure parts run under MicroPython too (check_impedance.py)."""

import pytest
from mpy_checks import INTERPRETERS, run_checks
from picostim.chip.frontend import FrontEnd
from picostim.chip.model import ChipError, ChipModel
from picostim.chip.session import EngineSession
from picostim.programmer import LeadReport, LeadResult, ProgrammerError, parse_impedance
from pulses import outputs_low, pulses

CONTACTS = 8
R = 1000.0  # dummy_load contact_ohms
PAIRS = [(k, k + 1) for k in range(CONTACTS - 1)]


@pytest.mark.parametrize("where", INTERPRETERS)
def test_pure_parts(where):
    assert run_checks("check_impedance.py", where) >= 120


class Bench:
    """The engine on the emulated chip with the front end attached; the lead
    check waits by running the chip."""

    def __init__(self):
        from picostim_fw import impedance

        self.session = s = EngineSession("pico")
        self.front = FrontEnd.attach(s.chip, s.board)
        self.jumps = []  # wait_us calls to turn into long stalls: (call number, us)
        self.waits = 0
        self.check = impedance.LeadCheck(s.board, s.engine, wait_us=self.wait)

    def wait(self, us):
        self.waits += 1
        if self.jumps and self.jumps[0][0] == self.waits:
            us = self.jumps.pop(0)[1]  # the CPU held up (an interrupt, a collection)
        self.session.chip.run(us * 125)

    def measure(self, contact=None):
        results = self.check.measure(self.check.config.plan(contact))
        return {item[0]: (ohms, verdict) for item, ohms, verdict in results}


def close(ohms, want, tolerance=0.01):
    return abs(ohms - want) <= tolerance * want


def assert_pulses_safe(bench, count):
    """`count` measuring pulses, each one biphasic and balanced at the measuring
    current and widths; afterwards every output low, the engine idle."""
    found = pulses(bench.session)
    assert len(found) == count
    imp = bench.session.board["impedance"]
    for p in found:
        assert p.balanced is True and p.problems == []
        assert (p.cathodic_ns, p.interphase_ns, p.anodic_ns) == (
            imp["pulse_width_us"] * 125,  # the session logs cycles
            imp["interphase_us"] * 125,
            imp["pulse_width_us"] * 125,
        )
        assert abs(p.cathodic_ua - 489.6) < 0.5 and abs(p.anodic_ua - 489.6) < 0.5
        assert len(p.cathodes) == 1
    assert outputs_low(bench.session)
    assert bench.session.engine.state == "idle"
    return found


# -- the front end ------------------------------------------------------------------------------
def test_the_network_between_the_buses():
    front = FrontEnd(ChipModel(), EngineSession("pico").board)
    others = set(range(1, CONTACTS))
    assert front.bus_ohms(others, {0}) == pytest.approx(R + R / 7)
    assert front.bus_ohms({4}, {3}) == pytest.approx(2 * R)
    assert front.bus_ohms({4, 5}, {3}) == pytest.approx(R + R / 2)
    assert front.bus_ohms(set(), {3}) is None  # nothing on the anode bus: no path
    front.set_fault(3, "break")
    assert front.bus_ohms({4}, {3}) is None
    assert front.bus_ohms(set(range(CONTACTS)) - {0}, {0}) == pytest.approx(R + R / 6)  # one return fewer
    front.set_fault(3, "short")  # to contact 4
    assert front.neighbour(3) == 4 and front.neighbour(7) == 6
    assert front.bus_ohms({4}, {3}) == 0.0
    assert front.bus_ohms({2}, {3}) == pytest.approx(R + R / 2)  # 3 and 4 in parallel
    assert front.bus_ohms({5}, {6}) == pytest.approx(2 * R)
    assert front.set_fault(3, "ok") == "contact 3 ok" and front.faults == {}
    with pytest.raises(ValueError):
        front.set_fault(8, "break")
    with pytest.raises(ValueError):
        front.set_fault(1, "melt")


def test_the_adc_converts_at_the_moment_of_the_read():
    chip = ChipModel()

    class Source:
        volts_now = 0.0

        def volts(self, pin):
            return self.volts_now if pin == 27 else 0.0

    source = Source()
    chip.adc_source = source
    for volts, code in ((0.0, 0), (-1.0, 0), (1.65, 2048), (3.3, 4095), (5.0, 4095), (0.1399, 173)):
        source.volts_now = volts
        assert chip.adc_read_u16(1) == code << 4 | code >> 8  # 12 bits scaled as MicroPython does
    assert chip.adc_read_u16(0) == 0  # GP26: nothing drives it
    with pytest.raises(ChipError):
        chip.adc_read_u16(4)  # the temperature sensor is not emulated


def test_the_machine_adc_stand_in():
    EngineSession("pico")  # attaches a chip model to the stand-ins
    import machine

    assert machine.ADC(machine.Pin(27)).channel == 1
    assert machine.ADC(27).channel == 1 and machine.ADC(2).channel == 2
    with pytest.raises(ValueError):
        machine.ADC(machine.Pin(25))
    assert machine.ADC(27).read_u16() == 0  # no front end attached: 0 V


# -- the lead check -------------------------------------------------------------------------------
def test_a_healthy_lead_is_within_tolerance_everywhere():
    bench = Bench()
    got = bench.measure()
    assert len(got) == 15
    for k in range(CONTACTS):
        ohms, verdict = got[f"c{k}"]
        assert verdict == "ok" and close(ohms, R + R / 7), (k, ohms)
    for a, b in PAIRS:
        ohms, verdict = got[f"pair{a}-{b}"]
        assert verdict == "ok" and close(ohms, 2 * R), (a, b, ohms)
    found = assert_pulses_safe(bench, 15)
    assert [p.cathodes for p in found[:8]] == [[k] for k in range(CONTACTS)]
    assert [sorted(p.anodes) for p in found[:8]] == [sorted(set(range(CONTACTS)) - {k}) for k in range(CONTACTS)]
    assert [(p.cathodes, p.anodes) for p in found[8:]] == [([a], [b]) for a, b in PAIRS]
    assert bench.check.current_na == 489600  # 12 PWM counts: the DAC's nearest to 500 uA


@pytest.mark.parametrize("broken", range(CONTACTS))
def test_each_broken_contact_reads_open_and_nothing_else_does(broken):
    bench = Bench()
    bench.front.set_fault(broken, "break")
    got = bench.measure()
    for k in range(CONTACTS):
        ohms, verdict = got[f"c{k}"]
        if k == broken:
            assert verdict == "open" and ohms >= 20000, ohms  # the source at its 12 V compliance
        else:
            assert verdict == "ok" and close(ohms, R + R / 6), (k, ohms)  # one return contact fewer
    for a, b in PAIRS:
        ohms, verdict = got[f"pair{a}-{b}"]
        assert verdict == ("open" if broken in (a, b) else "ok"), (a, b, ohms)
        if broken not in (a, b):
            assert close(ohms, 2 * R)
    assert_pulses_safe(bench, 15)


@pytest.mark.parametrize("shorted", range(CONTACTS))
def test_each_shorted_contact_reads_short_with_its_neighbour(shorted):
    bench = Bench()
    bench.front.set_fault(shorted, "short")
    other = bench.front.neighbour(shorted)
    joined = (min(shorted, other), max(shorted, other))
    got = bench.measure()
    for k in range(CONTACTS):
        ohms, verdict = got[f"c{k}"]
        if k in joined:
            assert verdict == "short" and ohms < 10, (k, ohms)
        else:
            assert verdict == "ok" and close(ohms, R + R / 7), (k, ohms)
    for a, b in PAIRS:
        ohms, verdict = got[f"pair{a}-{b}"]
        if (a, b) == joined:
            assert verdict == "short" and ohms < 10
        elif a in joined or b in joined:  # one end is two contacts in parallel: 1.5 k, 25 % low
            assert verdict == "low" and close(ohms, R + R / 2), (a, b, ohms)
        else:
            assert verdict == "ok" and close(ohms, 2 * R), (a, b, ohms)
    assert_pulses_safe(bench, 15)


def test_one_contact_and_its_pairs():
    bench = Bench()
    bench.front.set_fault(5, "break")
    got = bench.measure(5)
    assert list(got) == ["c5", "pair4-5", "pair5-6"]
    assert {verdict for _, verdict in got.values()} == {"open"}
    bench.front.set_fault(5, "ok")
    assert {verdict for _, verdict in bench.measure(5).values()} == {"ok"}
    assert_pulses_safe(bench, 6)


@pytest.mark.parametrize("stalls", [(), ((3, 4000),), ((50, 5100),), ((2, 30000),), ((498, 150), (500, 700))])
@pytest.mark.parametrize("step_us", [1, 10, 333])
def test_the_reading_does_not_depend_on_when_the_cpu_looks(stalls, step_us):
    """The track-and-hold keeps the end of the cathodic phase: CPU stalls before,
    during or after the pulse (an interrupt, a collection) change nothing,
    whatever the polling step."""
    bench = Bench()
    bench.jumps = list(stalls)
    bench.check.wait_us = lambda us: bench.wait(max(us, step_us))
    got = bench.measure(3)
    assert got["c3"][1] == "ok" and close(got["c3"][0], R + R / 7)
    assert got["pair2-3"][1] == got["pair3-4"][1] == "ok"
    assert_pulses_safe(bench, 3)


def test_the_adc_follows_the_cathodic_phase_and_holds_its_end():
    bench = Bench()
    s = bench.session
    program, timing = s.program(amp_ua=500, pw_us=200, ipg_us=0, rate_hz=100, cathodes=(0,), anodes=(1,))
    s.engine.start_once(timing, program, 625_000)
    import machine

    adc = machine.ADC(27)
    assert adc.read_u16() == 0  # nothing held yet
    s.chip.run(625_000 + 100 * 125)  # inside the cathodic phase: the live value (2 k at 489.6 uA)
    live = adc.read_u16()
    assert bench.check.config.ohms(live, 489_600) == pytest.approx(2000, abs=7)
    s.chip.run(150 * 125)  # the anodic phase (no interphase gap): the amplifier reads 0 V, the hold keeps it
    assert s.chip.levels() >> 22 & 1 and adc.read_u16() == live
    s.chip.run(10 * 125_000)
    assert adc.read_u16() == live
    bench.front.set_fault(0, "break")  # a change of the lead shows at the next cathodic phase only
    assert adc.read_u16() == live
    s.engine.stop()
    s.run(1000, poll_every=100)
    assert adc.read_u16() == live and outputs_low(s)


def test_refused_while_the_engine_runs():
    bench = Bench()
    s = bench.session
    s.start(amp_ua=1000, pw_us=100, rate_hz=100, cathodes=(0,), anodes=(1,))
    with pytest.raises(Exception) as err:
        bench.check.measure(bench.check.config.plan())
    assert getattr(err.value, "code", None) == "BUSY"
    s.run(125_000_000 // 20)
    s.engine.stop()
    s.run(125_000, poll_every=1000)
    assert s.engine.state == "idle" and len(pulses(s)) == 5
    assert all(p.cathodes == [0] for p in pulses(s))  # no measuring pulse among them


def test_start_once_makes_exactly_one_pulse():
    s = EngineSession("pico")
    program, timing = s.program(amp_ua=2000, pw_us=200, ipg_us=10, rate_hz=100, cathodes=(2,), anodes=(3,))
    with pytest.raises(ValueError):
        s.engine.start_once(timing, program, 100)  # the DAC could not latch its levels first
    s.engine.start_once(timing, program, 50_000)
    assert not s.engine.once_started()
    s.run(40_000)
    assert not s.engine.once_started()
    s.run(20_000)
    assert s.engine.once_started()
    s.run(125_000_000 // 10)  # 100 ms more: no second pulse
    found = pulses(s)
    assert len(found) == 1 and found[0].start_ns == 50_000 and found[0].balanced
    assert s.engine.state == "running"
    assert s.engine.stop() and outputs_low(s)


# -- the host side -------------------------------------------------------------------------------
ANSWER = (
    "current=490uA pw=1000us tolerance=20% expect_c=1143ohm expect_pair=2000ohm "
    "c2=1142ohm:ok c3=24509ohm:open c4=2ohm:short pair2-3=24509ohm:open pair3-4=1497ohm:low"
)


def test_the_answer_parses_into_a_report():
    report = parse_impedance(ANSWER)
    assert (report.current_ua, report.pw_us, report.tolerance_pct) == (490, 1000, 20)
    assert report.results[0] == LeadResult("c2", (2,), 1142, 1143, "ok")
    assert report.results[3] == LeadResult("pair2-3", (2, 3), 24509, 2000, "open")
    assert report.failed() == {3: "open", 4: "short"}
    assert not report.all_ok()
    assert LeadReport(490, 1000, 20, report.results[:1]).all_ok()
    assert report.as_dict()["results"][1] == {
        "name": "c3",
        "contacts": [3],
        "ohms": 24509,
        "expected_ohms": 1143,
        "status": "open",
    }
    for bad in ("current=490uA", ANSWER.replace(":open", ":melted"), ANSWER.replace("1142ohm", "1142")):
        with pytest.raises(ProgrammerError) as err:
            parse_impedance(bad)
        assert err.value.code == "PROTOCOL"


def test_the_table():
    import io

    from picostim.cli import print_impedance

    out = io.StringIO()
    print_impedance(parse_impedance(ANSWER), out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["item", "contacts", "ohms", "expected", "status"]
    assert lines[1].split() == ["c2", "2", "vs", "rest", "1142", "1143", "ok"]
    assert lines[4].split() == ["pair2-3", "2-3", "24509", "2000", "open", "<-"]
    assert lines[-1].endswith("contact 3 open, contact 4 short")
