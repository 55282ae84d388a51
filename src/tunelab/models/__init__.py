"""Base models: the catalog of what can be fine-tuned and loading it from local files only."""
