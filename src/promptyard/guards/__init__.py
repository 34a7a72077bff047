"""Guards: prompt-injection detection, PII redaction, the leak canary and a topics check (docs/guards.md)."""
