"""Fine-tuning jobs: the state machine and the database-backed queue. Imports without torch."""
