"""What the environment knows: its settings (`config`, `modes`, `runtimes`, `init_cpu`, `platform_env`), the state
machines the APIs drive (`runtime`, `extensions`, `credentials`), the processes of the current generation
(`generation`) and the records of what happened (`measurements`, `failures`). No I/O but the processes' handles."""
