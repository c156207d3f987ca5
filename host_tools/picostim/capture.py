"""Read a capture into {channel name: [(time_ns, value), ...]}.

Three forms, chosen by the file's extension:

- VCD (the virtual board's trace, or a logic analyser's VCD export);
- CSV as PulseView and sigrok-cli export it (`;` comment lines with the
  channel names and the sample rate, a label row, then one row per sample,
  with or without a time column);
- a sigrok session file (.sr), converted to VCD by `sigrok-cli` when it is
  installed (Debian package sigrok-cli).

Values are ints (x and z read as 0). Each series keeps only changes, in time
order. `aliases` maps a capture's channel names to gp<N> names ({"D0": "gp20"}).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "ps": 10**-3, "fs": 10**-6}
_CSV_TIME_UNITS = {
    "seconds": 10**9,
    "milliseconds": 10**6,
    "microseconds": 10**3,
    "nanoseconds": 1,
    "picoseconds": 10**-3,
    "time": 10**9,
    "time[s]": 10**9,
    "time(s)": 10**9,
}
_RATE_UNITS = {"hz": 1, "khz": 10**3, "mhz": 10**6, "ghz": 10**9}


class CaptureError(Exception):
    """A capture that cannot be read or measured. `code` is stable: FORMAT
    (unreadable file), CHANNELS (channels missing), SIGROK (sigrok-cli missing
    or failed), FILE (cannot open)."""

    def __init__(self, code, message):
        super().__init__(f"{code} {message}")
        self.code = code


def read_capture(path, aliases=None):
    """The capture at `path` (.vcd, .csv or .sr) as {name: [(time_ns, value)]}."""
    ext = os.path.splitext(str(path))[1].lower()
    try:
        if ext == ".csv":
            return read_csv(path, aliases)
        if ext == ".sr":
            return read_sigrok(path, aliases)
        return read_vcd(path, aliases)
    except OSError as exc:
        raise CaptureError("FILE", f"cannot read {path}: {exc.strerror or exc}") from exc


def _add(series, now, value):
    if series and series[-1][0] == now:
        series[-1] = (now, value)
        if len(series) > 1 and series[-2][1] == value:
            series.pop()
    elif not series or series[-1][1] != value:
        series.append((now, value))


def read_vcd(path, aliases=None):
    """A VCD file: header declarations, then whitespace-separated value changes
    (one token scan: a 670 KB trace reads in a fraction of a second)."""
    aliases = aliases or {}
    with open(path, encoding="ascii", errors="replace") as f:
        text = f.read()
    head, sep, body = text.partition("$enddefinitions")
    if not sep:
        raise CaptureError("FORMAT", f"{path}: not a VCD file (no $enddefinitions)")
    scale = 1.0
    ids: dict[str, list[str]] = {}
    changes: dict[str, list[tuple[int, int]]] = {}
    words = head.split()
    for i, word in enumerate(words):
        if word == "$timescale":
            spec = "".join(words[i + 1 : i + 3]).replace("$end", "")
            number = spec.rstrip("afmnpsu")
            unit = spec[len(number) :]
            if unit not in _UNIT_NS or not number.isdigit():
                raise CaptureError("FORMAT", f"{path}: timescale {spec!r} not understood")
            scale = int(number) * _UNIT_NS[unit]
        elif word == "$var":
            # $var <type> <size> <id> <reference> [bit range] $end
            code, ref = words[i + 3], words[i + 4]
            name = aliases.get(ref, ref)
            ids.setdefault(code, []).append(name)
            changes.setdefault(name, [])
    now = 0
    tokens = body.split()
    i = 1  # past "$end" of $enddefinitions
    n = len(tokens)
    while i < n:
        token = tokens[i]
        i += 1
        first = token[0]
        if token == "$comment":
            while i < n and tokens[i] != "$end":
                i += 1
        elif first == "#":
            now = round(int(token[1:]) * scale)
        elif first in "01xzXZ":
            for name in ids.get(token[1:], ()):
                _add(changes[name], now, 1 if first == "1" else 0)
        elif first in "bB":
            code = tokens[i]
            i += 1
            try:
                value = int(token[1:], 2)
            except ValueError:
                value = 0
            for name in ids.get(code, ()):
                _add(changes[name], now, value)
        elif first in "rR":
            i += 1  # real values: no pin of ours
    return changes


def _csv_rate_hz(comment):
    # "Samplerate: 125 MHz"
    _, _, value = comment.partition(":")
    parts = value.split()
    if len(parts) == 2 and parts[1].lower() in _RATE_UNITS:
        try:
            return float(parts[0]) * _RATE_UNITS[parts[1].lower()]
        except ValueError:
            return None
    return None


def read_csv(path, aliases=None):
    """A CSV export (PulseView / sigrok-cli `-O csv`): comment lines start with
    ';'; "; Channels (n/m): D0, D1, ..." names the channels when the label row
    does not ("logic,logic,..."); the first column is the sample time when its
    label is a time unit (seconds, nanoseconds, Time [s], ...), else each row is
    one sample at "; Samplerate: ..."."""
    aliases = aliases or {}
    names: list[str] = []
    rate_hz = None
    labels = None
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = iter(f)
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line.startswith(";"):
                comment = line.lstrip(";").strip()
                if comment.lower().startswith("channels"):
                    names = [c.strip() for c in comment.partition(":")[2].split(",") if c.strip()]
                elif comment.lower().startswith("samplerate"):
                    rate_hz = _csv_rate_hz(comment)
                continue
            labels = [c.strip() for c in line.split(",")]
            break
        if labels is None:
            raise CaptureError("FORMAT", f"{path}: no label row in the CSV file")
        time_unit = _CSV_TIME_UNITS.get(labels[0].lower().replace(" ", ""))
        channel_labels = labels[1:] if time_unit else labels
        if all(label in ("logic", "") for label in channel_labels):
            if len(names) != len(channel_labels):
                raise CaptureError("FORMAT", f"{path}: no channel names (no '; Channels:' line and no label row)")
            channel_labels = names
        if time_unit is None and not rate_hz:
            raise CaptureError("FORMAT", f"{path}: no time column and no '; Samplerate:' line")
        mapped = [aliases.get(c, c) for c in channel_labels]
        changes: dict[str, list[tuple[int, int]]] = {name: [] for name in mapped}
        series = [changes[name] for name in mapped]
        width = len(labels)
        previous = None
        row = 0
        for line in lines:
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            fields = line.split(",")
            if len(fields) != width:
                raise CaptureError("FORMAT", f"{path}: a row has {len(fields)} fields, the label row {width}")
            if time_unit:
                try:
                    now = round(float(fields[0]) * time_unit)
                except ValueError as exc:
                    raise CaptureError("FORMAT", f"{path}: time {fields[0]!r} is not a number") from exc
                values = fields[1:]
            else:
                now = round(row * 1e9 / rate_hz) if rate_hz else row
                values = fields
            row += 1
            if values == previous:
                continue
            previous = values
            for s, value in zip(series, values, strict=True):
                _add(s, now, 1 if value.strip() == "1" else 0)
    return changes


def sigrok_cli():
    """The sigrok-cli executable, or None."""
    return shutil.which("sigrok-cli")


def read_sigrok(path, aliases=None):
    """A sigrok session file (.sr): sigrok-cli writes it as VCD, read as such."""
    exe = sigrok_cli()
    if exe is None:
        raise CaptureError("SIGROK", "reading .sr files needs sigrok-cli (Debian: apt-get install sigrok-cli)")
    if not os.path.isfile(path):
        raise CaptureError("FILE", f"cannot read {path}: no such file")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "capture.vcd")
        done = subprocess.run([exe, "-i", str(path), "-O", "vcd", "-o", out], capture_output=True, text=True)
        if done.returncode != 0 or not os.path.exists(out):
            raise CaptureError("SIGROK", f"sigrok-cli could not read {path}: {done.stderr.strip()}")
        return read_vcd(out, aliases)
