"""The classifier's parameters, each written once: name, default, constraint, text.

:class:`~skpneumo.PneumoniaClassifier` takes its constructor signature, its
``_parameter_constraints`` and the parameter section of its docstring from
:data:`PARAMETERS`; :func:`~skpneumo.build_cnn` takes its defaults, its
validation and its docstring from the rows marked ``network``, and the
classifier hands exactly those rows to it. So a new network option is one
row here (and its use in ``build_cnn``), and there is one default network.

The augmentation strengths are multiples of the scales below, which
``build_cnn`` applies and the docstrings quote. Importing this module imports
neither Keras nor a backend.
"""

import functools
import inspect
import numbers
import re
import textwrap
from dataclasses import dataclass

from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

#: At ``augmentation=1``: the largest independent zoom of height and width
#: (a fraction, either way), and its cap at any strength.
ZOOM_SCALE, ZOOM_CAP = 0.3, 0.9
#: At ``augmentation=1``: the largest shift (a fraction of the side) and
#: rotation (a fraction of a full turn).
SHIFT_SCALE, ROTATION_SCALE = 0.05, 0.02
#: At ``crop_augmentation=1``: the largest shrink of the field of view.
CROP_SCALE, CROP_CAP = 0.25, 0.9
#: At ``border_augmentation=1``: the widest black margin on each side.
BORDER_SCALE, BORDER_CAP = 0.15, 0.45
#: At ``blur_augmentation=1``: the largest blur, a Gaussian's SD in pixels.
BLUR_SCALE = 1.5
#: At ``intensity_augmentation=1``: brightness (a fraction of the range),
#: contrast (a fraction), and gamma (drawn from 1/(1+g) to 1+g).
BRIGHTNESS_SCALE, BRIGHTNESS_CAP = 0.2, 1.0
CONTRAST_SCALE, CONTRAST_CAP = 0.3, 0.9
GAMMA_SCALE = 0.5

#: The fields of view ``predict_proba`` averages by default: the image as
#: given and two closer views (centre crops of 90% and 80%), whose mean
#: log-odds kept specificity >= 0.85 under every zoom-in and widened view of
#: the shift benchmark on both its splits, where the image alone fell to 0.76
#: under a 20% zoom-in (benchmarks/studies/robustness_ranking_test_time_views.md).
#: Also the range each view may take.
TEST_TIME_VIEWS = (0.8, 0.9, 1.0)
VIEW_RANGE = (0.5, 1.5)


def _percent(fraction):
    return f"{100 * fraction:g}%"


@dataclass(frozen=True)
class Parameter:
    """One constructor parameter of the classifier.

    ``kind`` is the numpydoc type; ``network`` marks the options that
    :func:`~skpneumo.build_cnn` takes.
    """

    name: str
    default: object
    constraints: list
    kind: str
    doc: str
    network: bool = False

    def docstring_entry(self, indent="    "):
        default = f'"{self.default}"' if isinstance(self.default, str) else self.default
        # one line, however long: numpydoc reads the type from the first line
        head = f"{indent}{self.name} : {self.kind}, default={default}"
        # no line break inside an inline literal: its spaces are held back
        literal = re.sub(r"``.+?``", lambda m: m[0].replace(" ", "\0"), self.doc)
        body = textwrap.fill(
            literal,
            width=79,
            initial_indent=indent * 2,
            subsequent_indent=indent * 2,
            break_long_words=False,
            break_on_hyphens=False,
        )
        return f"{head}\n{body.replace(chr(0), ' ')}"


def _real(low, closed="left"):
    return [Interval(numbers.Real, low, None, closed=closed)]


def _integer(low):
    return [Interval(numbers.Integral, low, None, closed="left")]


PARAMETERS = (
    Parameter(
        "n_blocks",
        4,
        _integer(1),
        "int",
        "Number of convolution blocks (the depth of the network).",
        network=True,
    ),
    Parameter(
        "filters",
        16,
        _integer(1),
        "int",
        "Filters of the first block (the width); block ``i`` has ``filters * 2**i``.",
        network=True,
    ),
    Parameter(
        "dropout",
        0.3,
        [Interval(numbers.Real, 0, 1, closed="left")],
        "float",
        "Dropout rate before the output unit.",
        network=True,
    ),
    Parameter(
        "augmentation",
        1.0,
        _real(0),
        "float",
        "Strength of the geometric augmentation, active in training only; 0 "
        "disables it. At 1.0 the height and the width zoom independently by "
        f"up to +-{_percent(ZOOM_SCALE)} (the aspect ratio and the field of "
        f"view change), the picture shifts by up to {_percent(SHIFT_SCALE)} "
        f"and turns by up to {ROTATION_SCALE:g} of a turn; borders are filled "
        "by reflection.",
        network=True,
    ),
    Parameter(
        "intensity_augmentation",
        1.0,
        _real(0),
        "float",
        "Strength of the grey-level augmentation, active in training only; 0 "
        f"disables it. At 1.0: brightness +-{_percent(BRIGHTNESS_SCALE)} of "
        f"the range, contrast +-{_percent(CONTRAST_SCALE)}, gamma "
        f"1/{1 + GAMMA_SCALE:g} to {1 + GAMMA_SCALE:g}.",
        network=True,
    ),
    Parameter(
        "border_augmentation",
        0.0,
        _real(0),
        "float",
        "Strength of the black-border augmentation, active in training only; "
        "0 disables it. At 1.0 half of the images get a black margin of up "
        f"to {_percent(BORDER_SCALE)} on each side, as a collimated or "
        "letter-boxed X-ray shows. See the user guide's robustness page for "
        "why it is off by default.",
        network=True,
    ),
    Parameter(
        "blur_augmentation",
        1.0,
        _real(0),
        "float",
        "Strength of the blur augmentation, active in training only; 0 "
        "disables it. At 1.0 half of the images are blurred by a Gaussian of "
        f"up to {BLUR_SCALE:g} pixels (standard deviation), as a "
        "lower-resolution scan or an enlarged small file is.",
        network=True,
    ),
    Parameter(
        "crop_augmentation",
        0.0,
        _real(0),
        "float",
        "Strength of the crop augmentation, active in training only; 0 "
        "disables it. At 1.0 the field of view also shrinks by a factor "
        f"drawn from {1 - CROP_SCALE:g} to 1, the same for height and width: "
        "a zoom into a random crop, as a narrower X-ray shows.",
        network=True,
    ),
    Parameter(
        "standardize",
        True,
        ["boolean"],
        "bool",
        "Give each image mean 0 and standard deviation 1 (its own statistics) "
        "before the convolutions, which removes linear exposure differences.",
        network=True,
    ),
    Parameter(
        "smoothing",
        0.8,
        _real(0),
        "float",
        "Standard deviation, in pixels, of a fixed Gaussian blur of every "
        "image, in training and prediction alike, after the augmentation and "
        "before the standardisation; 0 disables it. Detail finer than that "
        "depends on how a file was decoded and resized more than on the lungs.",
        network=True,
    ),
    Parameter(
        "stem_stride",
        1,
        _integer(1),
        "int",
        "Stride of the first convolution. With 2 the first block convolves "
        "with stride 2 and skips its pooling: the same output size for about "
        "a quarter of that block's work.",
        network=True,
    ),
    Parameter(
        "pool_first",
        True,
        ["boolean"],
        "bool",
        "Max-pool each block's convolution output before its batch "
        "normalisation and ReLU instead of after them. With positive "
        "normalisation scales both orders compute the same function in "
        "prediction (max pooling commutes with increasing maps), and the "
        "normalisation and ReLU then run on a quarter of the pixels.",
        network=True,
    ),
    Parameter(
        "bn_statistics",
        "clean",
        [StrOptions({"clean", "training"})],
        '{"clean", "training"}',
        "Which statistics the batch-normalisation layers predict with. "
        '``"clean"`` recomputes them at the end of ``fit`` on the training '
        "images as ``predict`` sees them, without augmentation (the images "
        'given to ``fit``, the sampler\'s copies included); ``"training"`` '
        "keeps Keras' moving averages of the augmented training batches, "
        "which put clean images on another scale.",
    ),
    Parameter(
        "test_time_views",
        TEST_TIME_VIEWS,
        [tuple, list],
        "tuple of float",
        "Fields of view that ``predict_proba`` averages over: each a factor on "
        "the picture's field of view, below 1 a centre crop (a closer view), "
        "above 1 the picture with its borders reflected outwards (a wider "
        f"view), each from {VIEW_RANGE[0]:g} to {VIEW_RANGE[1]:g}. The network "
        "scores every view at the input size and the log-odds are averaged, so "
        "a decision can depend less on how tightly the X-ray was framed; "
        "each view costs one more pass of the network. ``(1.0,)`` scores the "
        "image as given, as the held-out scores of each epoch of ``fit`` do "
        "(``validation_data``, early stopping). The default, the image and "
        "centre crops of 90% and 80%, is the benchmark's best on zoomed-in "
        "X-rays; it triples the network's share of ``predict_proba``.",
    ),
    Parameter(
        "learning_rate",
        1e-3,
        _real(0, closed="neither"),
        "float",
        "Peak learning rate of AdamW.",
    ),
    Parameter(
        "weight_decay",
        1e-4,
        _real(0),
        "float",
        "AdamW's decoupled weight decay.",
    ),
    Parameter(
        "lr_schedule",
        "cosine",
        [StrOptions({"cosine", "constant"})],
        '{"cosine", "constant"}',
        '``"cosine"`` decays the learning rate to zero over the planned '
        'epochs, which stabilises the last epochs; ``"constant"`` keeps it '
        "fixed.",
    ),
    Parameter(
        "weight_averaging",
        False,
        ["boolean"],
        "bool",
        "Keep an exponential moving average (momentum 0.99) of the weights "
        "during training and predict with it. Cannot be combined with "
        "``early_stopping``, which restores the raw weights of its best epoch.",
    ),
    Parameter(
        "epochs",
        20,
        _integer(1),
        "int",
        "Number of passes over the training data (an upper bound with "
        "``early_stopping``).",
    ),
    Parameter(
        "batch_size",
        32,
        _integer(1),
        "int",
        "Images per gradient step, and per batch in prediction.",
    ),
    Parameter(
        "class_weight",
        None,
        [dict, StrOptions({"balanced"}), None],
        'dict, "balanced" or None',
        "Weights of the classes in the loss, as in scikit-learn.",
    ),
    Parameter(
        "early_stopping",
        False,
        ["boolean"],
        "bool",
        "Hold out ``validation_fraction`` of the training images "
        "(stratified), stop when the validation loss has not improved for "
        "``n_iter_no_change`` epochs, and restore the weights of the best "
        "epoch. The hold-out is image-level: after over-sampling it may "
        "contain zoomed copies of training images, so its loss is optimistic.",
    ),
    Parameter(
        "validation_fraction",
        0.1,
        [Interval(numbers.Real, 0, 1, closed="neither")],
        "float",
        "Fraction held out for early stopping.",
    ),
    Parameter(
        "n_iter_no_change",
        5,
        _integer(1),
        "int",
        "Patience of early stopping, in epochs.",
    ),
    Parameter(
        "threshold",
        0.5,
        [Interval(numbers.Real, 0, 1, closed="both")],
        "float",
        "Operating point: ``predict`` returns the second class (PNEUMONIA) "
        "when its probability is at least ``threshold``. ``predict_proba`` "
        "and ROC-AUC do not depend on it. The default keeps ``predict`` equal "
        "to the class of highest probability; "
        ":func:`~skpneumo.make_pneumonia_pipeline` sets the default network's "
        "operating point, ``skpneumo._decision.DEFAULT_THRESHOLD`` (the user "
        "guide's threshold page says how it is chosen).",
    ),
    Parameter(
        "mixed_precision",
        "auto",
        [StrOptions({"auto", "float32", "mixed_float16", "mixed_bfloat16"})],
        '{"auto", "float32", "mixed_float16", "mixed_bfloat16"}',
        'Keras dtype policy of the convolution blocks. ``"auto"`` computes in '
        "bfloat16 on a GPU that has it (NVIDIA compute capability 8.0 and up), "
        "in float16 with loss scaling on an older GPU, and in float32 on the "
        "CPU; the GPU is looked up through the Keras backend in use. The "
        "variables, the rescaling and augmentation layers and the output unit "
        "stay in float32. The chosen policy is stored in ``dtype_policy_``.",
    ),
    Parameter(
        "random_state",
        None,
        ["random_state"],
        "int, RandomState instance or None",
        "Seeds weight initialisation, augmentation, dropout, shuffling and the "
        "early-stopping split. With an int, two fits on the CPU give identical "
        "probabilities, on the TensorFlow, JAX and PyTorch backends alike, "
        "also in a process where other threads use Python's ``random`` (as "
        "Dask workers do).",
    ),
    Parameter(
        "verbose",
        0,
        ["verbose"],
        "int",
        "Keras' verbosity in ``fit``: 0 silent, 1 progress bar, 2 one line per epoch.",
    ),
)

#: The rows that :func:`~skpneumo.build_cnn` takes, by name.
NETWORK = {p.name: p for p in PARAMETERS if p.network}


def constraints(parameters=PARAMETERS):
    """``_parameter_constraints`` of ``parameters``, as scikit-learn reads them."""
    return {p.name: list(p.constraints) for p in parameters}


def docstring_entries(parameters=PARAMETERS):
    """The numpydoc entries of ``parameters``, for a ``Parameters`` section."""
    return "\n".join(p.docstring_entry() for p in parameters)


def fill_docstring(obj, **sections):
    """Replace each ``{key}`` line of ``obj``'s docstring with ``sections[key]``.

    Like imbalanced-learn's ``Substitution``, but by plain replacement, so
    that a docstring may hold braces and percent signs of its own.
    """
    doc = obj.__doc__
    for key, text in sections.items():
        marker = f"    {{{key}}}"
        if marker not in doc:
            raise ValueError(f"{obj.__qualname__}'s docstring has no {marker!r} line")
        doc = doc.replace(marker, text)
    obj.__doc__ = doc
    return obj


def keyword_signature(parameters, *, leading=()):
    """A signature of ``leading`` parameters, then keyword-only ``parameters``."""
    return inspect.Signature(
        [
            *leading,
            *(
                inspect.Parameter(
                    p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default
                )
                for p in parameters
            ),
        ]
    )


def init_from(parameters, class_name):
    """An ``__init__`` that stores ``parameters``, with their signature.

    scikit-learn reads an estimator's parameters from its ``__init__``
    signature and expects ``__init__`` to store each one unchanged under its
    own name; this builds that method from the rows, so that they are listed
    once. Unknown names and positional arguments raise ``TypeError``, as
    they would for a written-out signature.
    """
    signature = keyword_signature(
        parameters,
        leading=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)],
    )

    def __init__(self, **params):
        try:
            bound = signature.bind(self, **params)
        except TypeError as exc:
            raise TypeError(f"{class_name}.__init__() {exc}") from None
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if name != "self":
                setattr(self, name, value)

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{class_name}.__init__"
    __init__.__doc__ = f"Store the parameters; see :class:`{class_name}`."
    return __init__


def network_options(function):
    """Give ``function`` the defaults, validation and docstring of :data:`NETWORK`.

    ``function`` names the network options as keyword-only parameters
    without defaults, in the table's order (checked here, when it is
    defined), and its docstring holds a ``{network_parameters}`` line.
    """
    signature = inspect.signature(function)
    written = [
        name
        for name, p in signature.parameters.items()
        if p.kind == p.KEYWORD_ONLY and p.default is p.empty
    ]
    if written != list(NETWORK):
        raise TypeError(
            f"{function.__qualname__} takes the network options {written}, but "
            f"skpneumo._spec.NETWORK lists {list(NETWORK)}"
        )
    signature = signature.replace(
        parameters=[
            p.replace(default=NETWORK[name].default) if name in NETWORK else p
            for name, p in signature.parameters.items()
        ]
    )
    network_constraints = constraints(NETWORK.values())

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        validate_parameter_constraints(
            network_constraints,
            {name: bound.arguments[name] for name in NETWORK},
            caller_name=function.__qualname__,
        )
        return function(*bound.args, **bound.kwargs)

    wrapper.__signature__ = signature
    return fill_docstring(
        wrapper, network_parameters=docstring_entries(NETWORK.values())
    )
