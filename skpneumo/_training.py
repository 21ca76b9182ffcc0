"""Fit a pipeline on a data set and save it with what the fit showed.

:func:`train_and_save` is the body of ``skpneumo train``: it holds some
patients out of the fit for the validation curves, fits the pipeline (or fits
and calibrates it, :func:`~skpneumo.fit_calibrated`), measures the final model
on the held-out patients and saves it as a model folder with its training
curves (:data:`CURVES_FILE`) and those figures (:data:`VALIDATION_FILE`).
"""

import json

#: The share of patients ``skpneumo train`` holds out for its validation curves.
VALIDATION_FRACTION = 0.1
#: The held-out figures of the final model, in the model folder.
VALIDATION_FILE = "validation.json"
#: What ``skpneumo train`` writes beside the model.
CURVES_FILE = "training_curves.png"


def _held_out_report(model, X, data):
    """The final model's figures on the held-out patients, with 95% intervals."""
    from .metrics._evaluation import model_report

    report, _, _ = model_report(
        model,
        X,
        data.target,
        subtype=data.get("subtype"),
        n_images=len(data.target),
        n_patients=len(set(data.groups)),
    )
    report["patients"] = sorted(set(data.groups.tolist()))
    return report


def train_and_save(
    pipeline,
    data,
    path,
    *,
    source,
    validation_fraction=VALIDATION_FRACTION,
    calibrate=False,
    calibration_method="sigmoid",
    random_state=None,
    overwrite=False,
    verbose=0,
    say=print,
    purpose="validation_fraction",
):
    """Fit ``pipeline`` on ``data`` and save the model at ``path``.

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        An unfitted pipeline of :func:`~skpneumo.make_pneumonia_pipeline`.
    data : sklearn.utils.Bunch
        As :func:`~skpneumo.datasets.load_chest_xray` returns it (``paths``,
        ``target``, ``groups``).
    path : os.PathLike
        The model folder to write (:func:`~skpneumo.save_model`).
    source : str
        What ``data`` is, for the messages.
    validation_fraction : float, default=0.1
        The share of patients held out of the fit (0: none).
    calibrate : bool, default=False
        Fit with :func:`~skpneumo.fit_calibrated` instead of ``pipeline.fit``.
    calibration_method : {"sigmoid", "isotonic"}, default="sigmoid"
        With ``calibrate``, the calibration.
    random_state : int or None, default=None
        Seeds which patients are held out, and the calibration's split.
    overwrite : bool, default=False
        Replace whatever is at ``path``.
    verbose : int, default=0
        The progress output of :func:`~skpneumo.fit_calibrated`.
    say : callable, default=print
        Told what is held out, trained on and measured, as the work goes.
    purpose : str, default="validation_fraction"
        What the held-out patients are called in the errors.

    Returns
    -------
    model_dir : pathlib.Path
        The model folder written.
    """
    # a figure outside pyplot: no backend is chosen and no figure of the
    # caller's is touched
    from matplotlib.figure import Figure

    from ._calibration import _counts
    from ._persistence import save_model
    from .datasets._source import subset
    from .metrics import plot_history
    from .metrics._evaluation import summary_line
    from .metrics._render import _json_ready

    validation, fit_params = None, {}
    if validation_fraction > 0:
        from ._tuning import hold_out_patients

        kept, held = hold_out_patients(
            data.target,
            data.groups,
            validation_fraction,
            random_state=random_state,
            purpose=purpose,
        )
        validation, data = subset(data, held), subset(data, kept)
        say(
            f"Validating on {_counts(validation.target)} of "
            f"{len(set(validation.groups))} patients held out"
        )
        X_val = pipeline.named_steps["loader"].transform(validation.paths)
        fit_params["classifier__validation_data"] = (X_val, validation.target)
    if calibrate:
        from ._calibration import fit_calibrated

        model = fit_calibrated(
            pipeline,
            data.paths,
            data.target,
            data.groups,
            method=calibration_method,
            random_state=random_state,
            verbose=verbose,
            **fit_params,
        )
    else:
        say(f"Training on {_counts(data.target)} of {source}")
        model = pipeline.fit(data.paths, data.target, **fit_params)
    extra_files = {}
    if validation is not None:
        held_out = _held_out_report(model, X_val, validation)
        say(f"On the held-out patients: {summary_line(held_out)}")
        extra_files[VALIDATION_FILE] = (
            json.dumps(_json_ready(held_out), indent=2, allow_nan=False) + "\n"
        )
    # progress output is for the training run, not for whoever loads the model
    pipeline.set_params(loader__verbose=0, classifier__verbose=0)
    figure = Figure(figsize=(10, 4))
    plot_history(
        pipeline.named_steps["classifier"].history_, axes=figure.subplots(1, 2)
    )
    figure.tight_layout()
    # the curves go into the folder before it is moved into place: the model
    # and its curves appear together, or neither does
    model_dir = save_model(
        model,
        path,
        overwrite=overwrite,
        extra_files={
            CURVES_FILE: lambda file: figure.savefig(file, dpi=100),
            **extra_files,
        },
    )
    return model_dir
