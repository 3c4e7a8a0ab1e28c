"""Hostile values shared by the unit and integration tests of the terminal boundary."""

TERMINAL_ATTACKS = [  # escape sequences that drive a terminal; each must never reach one
    "\x1b]0;pwned\x07",            # window title (OSC, BEL)
    "\x1b]0;pwned\x1b\\",          # window title (OSC, ST)
    "\x1b[2J\x1b[H",               # clear screen, cursor home
    "\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 link
    "\x1b[5A\x1b[10C",             # cursor moves
    "\x9b2J",                      # C1 CSI
    "\x9d0;pwned\x9c",             # C1 OSC ... C1 ST
    "\x1bc",                       # full reset
    "\r\x1b[K",                    # overwrite the line
    "\x1bP+q\x1b\\",               # DCS query
]
