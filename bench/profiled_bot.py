"""Runs ``esim-bot run`` under cProfile, writing the profile when the bot stops.

    python -m bench.profiled_bot OUTPUT.prof [--cpu-clock]

The default clock is the wall clock, as ``python -m cProfile`` uses: idle waits for the network show up as
``select.epoll.poll``, which the summary leaves out. ``--cpu-clock`` times with ``time.thread_time``
instead (main thread CPU only), which is exact about idle time but makes each timed call several times
dearer, so shares drift toward functions called very often.
"""

import cProfile
import sys
import time

from bot.cli import main as bot_main


def main() -> int:
    """Runs the bot with the profiler on until it stops, then writes the profile."""
    output = sys.argv[1]
    profiler = cProfile.Profile(time.thread_time) if "--cpu-clock" in sys.argv[2:] else cProfile.Profile()
    profiler.enable()
    try:
        code = bot_main(["run"])
    finally:
        profiler.disable()
        profiler.dump_stats(output)
    return code


if __name__ == "__main__":
    sys.exit(main())
