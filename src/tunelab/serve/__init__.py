"""Serving: generate replies from a loaded model (streaming)."""
