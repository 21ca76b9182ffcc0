"""Clinical metrics, operating thresholds and the plots of an evaluation report."""

from ._html import write_html_report
from ._report import (
    TARGET_SENSITIVITY,
    binary_report,
    plot_calibration_curve,
    plot_confusion_matrix,
    plot_history,
    plot_precision_recall_curve,
    plot_roc_curve,
    threshold_for_sensitivity,
)

__all__ = [
    "TARGET_SENSITIVITY",
    "binary_report",
    "plot_calibration_curve",
    "plot_confusion_matrix",
    "plot_history",
    "plot_precision_recall_curve",
    "plot_roc_curve",
    "threshold_for_sensitivity",
    "write_html_report",
]
