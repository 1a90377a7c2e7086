"""Entry point: `python -m telemetry_ext`, the layer's launcher (`entry`), or the native binary built from it."""

import gc
import os
import sys


def main() -> int:
    # Start-up creates thousands of long-lived objects (modules, classes, functions) and frees almost none: the
    # cyclic garbage collector would traverse them again and again for nothing. It is off until init is done;
    # then app.py freezes what exists and turns it back on.
    gc.disable()
    from telemetry_ext.app import run

    return run(os.environ)


def entry() -> None:
    code = main()
    # Everything is written and reported by now. Skip the interpreter's teardown (module GC, library finalisers,
    # and the writer's thread, which may still wait on a PUT that SHUTDOWN's deadline gave up on).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
