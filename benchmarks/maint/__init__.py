"""Maintenance tools: the bundled model, the model card, the packed data, the GPU check."""
