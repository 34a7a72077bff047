"""Trace sinks, one per file: ``jsonl``, ``sql``, ``otel``."""
