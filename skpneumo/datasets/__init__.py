"""Loaders for chest X-ray data sets laid out on disk."""

from ._chest_xray import load_chest_xray, patient_id
from ._manifest import load_manifest
from ._subsample import subsample_patients

__all__ = ["load_chest_xray", "load_manifest", "patient_id", "subsample_patients"]
