"""Order of the examples in the gallery: from a first fit to the finer points."""

ORDER = [
    "plot_train_and_evaluate.py",
    "plot_evaluate_pretrained.py",
    "plot_cross_validation_by_patient.py",
    "plot_compare_rebalancing.py",
    "plot_grid_search.py",
    "plot_threshold_tuning.py",
    "plot_heatmaps.py",
]


class ExampleOrder:
    """sphinx-gallery ``within_subsection_order``: the files in ORDER first, then by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        """Sort key of ``filename``: its place in ``ORDER``, unlisted files last."""
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return (position, filename)
