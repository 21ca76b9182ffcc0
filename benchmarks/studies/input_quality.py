"""How often the input-quality check flags real X-rays, and bad images.

The check (``skpneumo.check_xray_quality``, run by ``ImageLoader`` on every
file) should flag no real frontal chest X-ray (target: at most 1%) and every
image that cannot be one. This script measures both:

* real: every image of the shared data, read from its file as the loader
  reads it: ``chest_xray/train`` (5,216 images squashed to 224x224),
  ``chest_xray/val`` (16 full-size) and ``chest_xray_fullsize_sample`` (240
  full-size);
* generated: files written to a temporary folder (1x1, black, white and grey
  images, colour noise) and, from each full-size real image, its inverted
  copy, its copies rotated by 90 degrees either way, a copy with 4 grey
  levels, one squeezed into 20 grey levels of contrast, a colour-tinted one,
  a 32-pixel thumbnail and a strip five times wider than high;

and the loader's time on the full-size files with the check and without it
(``quality="warn"`` and ``"ignore"``; wall and CPU seconds, median of
``--rounds`` rounds, the two alternating in order).

Run from the repository root::

    python -m benchmarks.studies.input_quality [--data ../shared/data] [--rounds 5]
"""

import argparse
import statistics
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._common import add_data_argument
from skpneumo import ImageLoader, ImageQualityWarning, check_xray_quality


def real_sets(data):
    """The shared images by set, as sorted lists of paths."""
    return {
        "chest_xray/train (224x224)": sorted(data.glob("chest_xray/train/*/*.jpeg")),
        "chest_xray/val (full size)": sorted(data.glob("chest_xray/val/*/*.jpeg")),
        "chest_xray_fullsize_sample": sorted(
            data.glob("chest_xray_fullsize_sample/*/*.jpeg")
        ),
    }


def blank_files(folder):
    """Write the generated images that need no X-ray; return their paths by kind."""
    rng = np.random.default_rng(0)
    images = {
        "1x1 pixel": np.full((1, 1), 128, np.uint8),
        "all black": np.zeros((1024, 1024), np.uint8),
        "all white": np.full((1024, 1024), 255, np.uint8),
        "uniform grey": np.full((224, 224), 128, np.uint8),
        "colour noise": rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8),
    }
    paths = {}
    for kind, image in images.items():
        paths[kind] = folder / f"{kind.replace(' ', '_')}.png"
        Image.fromarray(image).save(paths[kind])
    return {kind: [path] for kind, path in paths.items()}


def derived(image):
    """The bad copies of one real greyscale X-ray (a Pillow 'L' image)."""
    array = np.asarray(image)
    width, height = image.size
    tint = np.stack([array, (array * 0.8).astype(np.uint8), array // 2], axis=2)
    return {
        "inverted": Image.fromarray(255 - array),
        "rotated 90 (clockwise)": image.transpose(Image.Transpose.ROTATE_270),
        "rotated 90 (counter-clockwise)": image.transpose(Image.Transpose.ROTATE_90),
        "4 grey levels": Image.fromarray((array // 64 * 85).astype(np.uint8)),
        "low contrast (20 levels)": Image.fromarray(
            (120 + array.astype(np.float64) * 20 / 255).astype(np.uint8)
        ),
        "colour-tinted": Image.fromarray(tint, mode="RGB"),
        "32-px thumbnail": image.resize((32, 32)),
        "strip 5:1": image.crop((0, height // 2, width, height // 2 + width // 5)),
    }


def derived_files(sources, folder):
    """Write the bad copies of each source X-ray as PNG files; return them by kind."""
    paths = {}
    for i, source in enumerate(sources):
        with Image.open(source) as image:
            image = image.convert("L")
            image.thumbnail((1024, 1024))  # smaller files, same layout
            for j, (kind, copy) in enumerate(derived(image).items()):
                path = folder / f"derived_{i}_{j}.png"
                copy.save(path)
                paths.setdefault(kind, []).append(path)
    return paths


def rate_table(sets):
    """Flagged share of each set, and the most common reasons."""
    lines = [
        "| images | n | flagged | share flagged | reasons |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, paths in sets.items():
        table = check_xray_quality(paths, n_jobs=2)
        reasons = Counter(
            reason.split(" (")[0]
            for text in table.reasons[table.flagged]
            for reason in text.split("; ")
        )
        shown = ", ".join(f"{r} {n}" for r, n in reasons.most_common(3))
        lines.append(
            f"| {name} | {len(paths)} | {table.flagged.sum()} | "
            f"{table.flagged.mean():.2%} | {shown} |"
        )
    return lines


def loader_times(paths, rounds):
    """Median wall and CPU seconds of the loader on ``paths`` by ``quality``.

    The rounds alternate the order of the two; CPU seconds (all threads) are
    less disturbed than wall seconds by other work on the machine.
    """
    loaders = {
        quality: ImageLoader(quality=quality, n_jobs=2).fit()
        for quality in ("ignore", "warn")
    }
    times = {quality: ([], []) for quality in loaders}
    order = list(loaders)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageQualityWarning)
        loaders["ignore"].transform(paths)  # warm the file cache
        for _ in range(rounds):
            for quality in order:
                wall, cpu = time.perf_counter(), time.process_time()
                loaders[quality].transform(paths)
                times[quality][0].append(time.perf_counter() - wall)
                times[quality][1].append(time.process_time() - cpu)
            order.reverse()
    return {
        quality: tuple(statistics.median(t) for t in pair)
        for quality, pair in times.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    real = real_sets(args.data)
    total = sum(len(p) for p in real.values())
    print(f"Real X-rays ({total} files); target: at most 1% flagged\n")
    real_lines = rate_table(real)
    print("\n".join(real_lines))
    all_real = check_xray_quality([p for ps in real.values() for p in ps], n_jobs=2)
    print(
        f"\nAll real images: {all_real.flagged.sum()} of {total} flagged "
        f"({all_real.flagged.mean():.2%})"
    )
    for path, reason in zip(
        [p for ps in real.values() for p in ps], all_real.reasons, strict=True
    ):
        if reason:
            print(f"  {path.relative_to(args.data)}: {reason}")
    for name in ("width", "height", "grey_levels", "contrast", "orientation"):
        values = all_real[name]
        print(
            f"  {name}: smallest {values.min():.4g}, 1st percentile "
            f"{np.percentile(values, 1):.4g}"
        )
    aspect = all_real.width / all_real.height
    print(f"  aspect ratio (width / height): {aspect.min():.3g} to {aspect.max():.3g}")
    print(f"  colour: largest {all_real.colour.max():.3g}")
    print(f"  border darker than the centre: {(all_real.border < 0).mean():.2%}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = (
            real["chest_xray/val (full size)"] + real["chest_xray_fullsize_sample"]
        )
        bad = blank_files(folder) | derived_files(sources, folder)
        n_bad = sum(len(p) for p in bad.values())
        print(f"\nGenerated bad images ({n_bad} files); target: all flagged\n")
        print("\n".join(rate_table(bad)))

    fullsize = real["chest_xray/val (full size)"] + real["chest_xray_fullsize_sample"]
    times = loader_times(fullsize, args.rounds)
    (wall_off, cpu_off), (wall_on, cpu_on) = times["ignore"], times["warn"]
    print(
        f"\nImageLoader on the {len(fullsize)} full-size files (224 px, 2 threads, "
        f"median of {args.rounds} interleaved rounds): quality='ignore' "
        f"{wall_off:.2f} s wall, {cpu_off:.2f} s CPU; quality='warn' {wall_on:.2f} s "
        f"wall ({wall_on / wall_off - 1:+.1%}), {cpu_on:.2f} s CPU "
        f"({cpu_on / cpu_off - 1:+.1%}, "
        f"{(cpu_on - cpu_off) / len(fullsize) * 1000:.2f} ms a file)"
    )


if __name__ == "__main__":
    main()
