"""subsample_patients: a smaller data set that keeps every patient whole."""

import numpy as np
from sklearn.utils import check_random_state


def subsample_patients(data, n_images, *, random_state=None):
    """Draw whole patients at random until class ``c`` has ``n_images[c]`` images.

    Patients are drawn one at a time, in random order, until each class has at
    least its number of images; all images of a drawn patient are kept, so a
    grouped split of the subset still keeps patients apart.

    Parameters
    ----------
    data : sklearn.utils.Bunch
        As returned by :func:`load_chest_xray` (uses ``target`` and ``groups``).
    n_images : sequence of int
        Wanted images per class, e.g. ``(400, 1100)`` for NORMAL and PNEUMONIA.
    random_state : int, RandomState instance or None, default=None
        Controls which patients are drawn.

    Returns
    -------
    indices : ndarray of int
        Sorted indices into ``data.paths``.

    Examples
    --------
    >>> from skpneumo.datasets import load_chest_xray, subsample_patients
    >>> data = load_chest_xray("../shared/data/chest_xray", split="train")
    >>> keep = subsample_patients(data, (10, 20), random_state=0)
    >>> bool((data.target[keep] == 0).sum() >= 10), bool((data.target[keep] == 1).sum() >= 20)
    (True, True)
    """
    rng = check_random_state(random_state)
    keep = []
    for label, wanted in enumerate(n_images):
        count = 0
        for patient in rng.permutation(np.unique(data.groups[data.target == label])):
            if count >= wanted:
                break
            members = np.flatnonzero(data.groups == patient)
            keep.extend(members)
            count += int(np.sum(data.target[members] == label))
    return np.sort(np.asarray(keep, dtype=np.intp))
