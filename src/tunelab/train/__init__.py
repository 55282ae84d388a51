"""Training recipes: one method per file (``sft``), with shared config, batching and checkpoints."""
