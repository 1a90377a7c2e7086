"""The phases of an execution environment (lambda-api.md §5, §7): `init`, `invoke` (on-demand, SnapStart),
`concurrent` (Lambda Managed Instances), `restore` (SnapStart's snapshot and restores), `shutdown`, and the
`freezer` between them. Each phase is a function whose parameters name what it reads and drives (`Platform`: the
settings, the telemetry stream, the notifier); none sees the whole emulator."""
