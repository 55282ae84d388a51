"""One module per resource: files, jobs (fine-tuning), models, health; chat lives in ``chat``."""
