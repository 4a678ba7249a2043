"""The live layer: the event log, idempotency receipts, publishing after commit,
coalesced updates and snapshots."""
