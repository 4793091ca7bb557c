"""The bottom layer: small facts every package of the board may use (agent,
display_layouts, firmware_bridge); it imports none of them."""
