"""Serial LED controllers behind the display (frame conversion, protocols, transports).

Not built yet: see the serial issue. `[display] output = "serial"` is refused at start-up
until it is.
"""
