"""Everything that computes: model registry and loading, the batching inference engine, and the features'
model-side logic (leakage, spelling, image APIs). No Telegram imports here."""
