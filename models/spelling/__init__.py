"""Character-aware spelling (Liu et al. 2023, "Character-Aware Models Improve Visual Text Rendering"): models that
read subword tokens are blind to letters; a model that reads bytes spells almost perfectly even when small."""
