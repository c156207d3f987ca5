"""Service loop: keeps the pulse engine's queued updates and stops moving."""

import time


def serve(profile, engine):
    while True:
        engine.poll()
        time.sleep_ms(1)
