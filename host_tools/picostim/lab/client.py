"""The labgrid-client commands the rack tools need, run as the labgrid CLI
(its stable interface), each with a clear error when it fails."""

from __future__ import annotations

import os
import re
import subprocess

from picostim.tools import find_tool


class LabError(Exception):
    """A labgrid step failed; the message says which and why."""


def tool(name: str) -> str:
    """A labgrid executable: beside this Python (the lab venv), else on PATH."""
    found = find_tool(name)
    if not found:
        raise LabError(f"{name} not found: install labgrid (`make lab-setup`, or `pip install picostim[lab]`)")
    return found


class LabgridClient:
    def __init__(self, coordinator: str | None = None):
        self.coordinator = coordinator or os.environ.get("LG_COORDINATOR") or "127.0.0.1:20408"

    def run(self, *args: str, place: str | None = None, token: str | None = None, timeout: float = 60.0) -> str:
        argv = [tool("labgrid-client"), "-x", self.coordinator]
        if place:
            argv += ["-p", place]
        env = dict(os.environ, LG_TOKEN=token) if token else None
        try:
            done = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"labgrid-client {' '.join(args)} took more than {timeout:.0f} s") from exc
        if done.returncode:
            detail = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise LabError(f"labgrid-client {' '.join(args)} failed: {detail[-1] if detail else done.returncode}")
        return done.stdout

    def places(self, tags: dict[str, str] | None = None) -> list[str]:
        """Names of the places carrying every tag in `tags`."""
        found: dict[str, dict[str, str]] = {}
        current = None
        for line in self.run("-v", "places").splitlines():
            header = re.match(r"Place '(.+)':$", line)
            if header:
                current = header.group(1)
                found[current] = {}
            elif current and line.strip().startswith("tags: "):
                pairs = line.strip()[len("tags: ") :].split(", ")
                found[current] = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        wanted = tags or {}
        return sorted(name for name, have in found.items() if all(have.get(k) == v for k, v in wanted.items()))

    def reserve(self, tags: dict[str, str], timeout: float) -> str:
        """Wait for a place with these tags to be allocated to us; its token."""
        filters = [f"{k}={v}" for k, v in tags.items()]
        out = self.run("reserve", "--wait", "--shell", *filters, timeout=timeout)
        match = re.search(r"LG_TOKEN=(\S+)", out)
        if not match:
            raise LabError(f"labgrid-client reserve printed no token: {out!r}")
        return match.group(1)

    def acquire(self, token: str) -> str:
        """Acquire the place reserved under `token`; its name."""
        self.run("acquire", place="+", token=token)
        for line in self.run("show", place="+", token=token).splitlines():
            match = re.match(r"Place '(.+)':$", line)
            if match:
                return match.group(1)
        return "+" + token

    def release(self, token: str) -> None:
        self.run("release", place="+", token=token)

    def cancel(self, token: str) -> None:
        self.run("cancel-reservation", token)
