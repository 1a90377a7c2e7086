"""`python -m lambda_emulator run ...`: see lambda_emulator/README.md."""

import sys

from lambda_emulator.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
