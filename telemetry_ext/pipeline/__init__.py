"""listener -> ring buffer -> batcher -> sink; flush_policy decides when data moves."""
