"""No float32 copy of the training set is made outside the network."""

import tracemalloc

import numpy as np

from skpneumo import PneumoniaClassifier, ZoomOverSampler


def test_fit_makes_no_float_copy_of_the_images():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(600, 48, 48, 1), dtype=np.uint8)
    y = np.r_[np.zeros(200, int), np.ones(400, int)]
    X_res, y_res = ZoomOverSampler(random_state=0).fit_resample(X, y)
    assert X_res.dtype == np.uint8
    clf = PneumoniaClassifier(n_blocks=1, filters=4, epochs=1, random_state=0)
    warm = np.r_[0:8, 300:308]
    clf.fit(X_res[warm], y_res[warm])  # build and trace once, outside the measurement
    tracemalloc.start()
    try:
        clf.fit(X_res, y_res)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    float_copy = X_res.size * 4
    # NumPy's allocations are traced. Keras' batching makes a couple of uint8
    # copies (about 2-3x X_res.nbytes at peak); a float32 copy of the set would
    # alone reach float_copy = 4x.
    assert peak < float_copy, (peak, float_copy)
