"""The emulated RP2040 behind the virtual board: PIO (rp2040py), pins, PWM, trace."""
