"""Serial LED controllers behind the display: `[display] output = "serial"`.

The renderer draws on `SerialOutput.canvas` at the panel's resolution; `present()`
converts that frame to the controller's colour model (`convert`) and hands it to one
writer thread (`link`), which keeps only the newest frame, encodes it with the
configured protocol plugin (`protocols/<name>`), paces it to the line rate and
supervises the port (unplug, replug, write timeouts). `simulator` is a controller on a
pty for tests and for technicians without hardware; `probe` answers `doctor`.
"""
