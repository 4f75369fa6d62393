"""FLUX-style prompt tests through hosted image APIs (Replicate, fal.ai), graded by OCR or by votes."""
