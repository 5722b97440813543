"""Exit codes of the ``impasto`` command, stable so scripts can branch on them."""

OK = 0
FAILED = 1  # anything not listed below
USAGE = 2  # bad option or option value (argparse uses 2 as well), or a bad setup: an unsafe
# runtime folder, an unusable CurveZMQ key file
BAD_IMAGE = 3  # an input image is missing or cannot be decoded, or the output cannot be written
WEIGHTS = 4  # model weights missing or corrupt
OUT_OF_MEMORY = 5
DIVERGED = 6  # the optimisation produced NaN/inf
DAEMON_UNAVAILABLE = 7
CANCELLED = 130  # like a shell's Ctrl-C
BROKEN_PIPE = 141  # the reader of our output left early (`impasto status | head`), like SIGPIPE
