"""The command line (`lambda-emulator run ...`): its arguments (`main`), the session it runs (`session`), the table
and failure lines it prints (`summary`, `progress`)."""

from lambda_emulator.cli.main import SessionResult, main, percentile, run_session

__all__ = ["SessionResult", "main", "percentile", "run_session"]
