"""A serial LED controller on a pty, for tests and for technicians without hardware.

    python -m firmware_bridge.simulator --protocol alpha --width 128 --height 32 --png sign.png

prints the pty path to put in `[serial] port`, decodes what arrives at the modelled
line rate, answers as the controller would, and keeps the PNG of what it shows.
"""
