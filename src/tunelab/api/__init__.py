"""The HTTP API: OpenAI-compatible files, fine-tuning jobs, models and chat (``create_app``).

Imports without torch; the serving engine is created on the first chat request.
"""
