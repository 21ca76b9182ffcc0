"""One table of the classifier's parameters: the classifier, build_cnn and the
factory all read it, so their names, defaults and texts cannot drift apart.
"""

import inspect

import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo import PneumoniaClassifier, _spec, build_cnn, make_pneumonia_pipeline


def _defaults(function):
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not p.empty
    }


def test_the_classifier_is_its_table():
    assert _defaults(PneumoniaClassifier) == {
        p.name: p.default for p in _spec.PARAMETERS
    }
    assert PneumoniaClassifier()._get_param_names() == sorted(
        p.name for p in _spec.PARAMETERS
    )
    assert set(PneumoniaClassifier._parameter_constraints) == {
        p.name for p in _spec.PARAMETERS
    }
    for parameter in _spec.PARAMETERS:
        assert parameter.docstring_entry() in PneumoniaClassifier.__doc__


def test_one_default_network():
    """build_cnn's defaults are the classifier's: there is one default network."""
    network = _defaults(build_cnn)
    del network["seed"], network["dtype"]
    assert network == {
        name: value
        for name, value in PneumoniaClassifier().get_params().items()
        if name in _spec.NETWORK
    }
    for name in _spec.NETWORK:
        assert _spec.NETWORK[name].docstring_entry() in build_cnn.__doc__
    assert "{network_parameters}" not in build_cnn.__doc__


def test_build_cnn_validates_its_options():
    with pytest.raises(InvalidParameterError, match="'filters' parameter of build_cnn"):
        build_cnn((8, 8, 1), filters=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'width'"):
        build_cnn((8, 8, 1), width=4)


def test_a_function_must_take_the_table_s_network_options():
    def short(input_shape, *, n_blocks, seed=None):
        """Build.

        Parameters
        ----------
        {network_parameters}
        """

    with pytest.raises(TypeError, match="takes the network options"):
        _spec.network_options(short)


def test_generated_init_behaves_like_a_written_one():
    clf = PneumoniaClassifier(filters=8, threshold=0.3)
    assert (clf.filters, clf.threshold, clf.n_blocks) == (8, 0.3, 4)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(TypeError, match=r"PneumoniaClassifier.__init__\(\).*'width'"):
        PneumoniaClassifier(width=8)
    with pytest.raises(TypeError, match="positional"):
        PneumoniaClassifier(4)


def test_factory_routes_step_parameters():
    pipe = make_pneumonia_pipeline(
        image_size=32,
        random_state=3,
        classifier__epochs=2,
        classifier__random_state=4,
        sampler__zoom_range=(1.0, 1.1),
        loader__resize="pad",
    )
    params = pipe.get_params()
    assert params["classifier__epochs"] == 2
    assert params["classifier__random_state"] == 4  # the step's own wins
    assert params["sampler__random_state"] == 3
    assert params["sampler__zoom_range"] == (1.0, 1.1)
    assert params["loader__resize"] == "pad"
    assert params["loader__image_size"] == 32


def test_factory_sets_only_what_it_owns():
    """Every step parameter the factory does not own keeps the step's default."""
    pipe = make_pneumonia_pipeline()
    owned = {"image_size", "threshold", "n_jobs", "memory", "random_state", "verbose"}
    for name, step in pipe.steps:
        fresh = type(step)().get_params()
        for key, value in step.get_params().items():
            if key not in owned:
                assert value == fresh[key], (name, key)


@pytest.mark.parametrize(
    "kwargs, hint",
    [
        ({"epochs": 2}, "'epochs' (pass it as classifier__epochs)"),
        ({"zoom_range": (1, 2)}, "'zoom_range' (pass it as sampler__zoom_range)"),
        ({"resize": "pad"}, "'resize' (pass it as loader__resize)"),
        ({"widht": 3}, "'widht' (a parameter of no step)"),
    ],
)
def test_factory_names_the_step_of_an_unprefixed_keyword(kwargs, hint):
    with pytest.raises(TypeError, match="without a step prefix") as info:
        make_pneumonia_pipeline(**kwargs)
    assert hint in str(info.value)


def test_factory_refuses_a_parameter_of_no_step():
    with pytest.raises(ValueError, match="width"):
        make_pneumonia_pipeline(classifier__width=3)
