"""Entry point: `python -m telemetry_ext`, or the native binary built from it."""

import gc
import os
import sys


def main() -> int:
    # Start-up creates thousands of long-lived objects (modules, classes, functions) and frees almost none: the
    # cyclic garbage collector would traverse them again and again for nothing (about a tenth of init's CPU,
    # measured). It is off until init is done; then app.py freezes what exists and turns it back on.
    gc.disable()
    import asyncio

    from telemetry_ext import log
    from telemetry_ext.app import run

    log.route_library_logs()
    return asyncio.run(run(os.environ))


if __name__ == "__main__":
    code = main()
    # Everything is written and reported by now. Skip the interpreter's teardown (module GC, library
    # finalisers): at 128 MB (7 % of a core) it took ~1.5 s and made the extension miss the SHUTDOWN deadline.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
