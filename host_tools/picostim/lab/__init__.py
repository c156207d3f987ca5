"""picostim in a labgrid rack (docs/LAB.md): boards on several hosts, shared
through a labgrid coordinator, their serial ports exported with ser2net.

    client    the labgrid-client calls the rest needs (places, reservations)
    place     a place's serial port as a pyserial URL (the pytest fixtures' --lg-env)
    strategy  PicostimStrategy: deploy, reset, wait for EVT READY, log in
    run       the serial suites on every place with a tag, in parallel, with a report
    farm      a farm on one host with virtual boards (CI, and trying it without hardware)
    bridge    a pty served over raw TCP, where ser2net is not installed

labgrid is an optional extra (`pip install picostim[lab]`, or `make lab-setup`):
nothing outside this package imports it.
"""
