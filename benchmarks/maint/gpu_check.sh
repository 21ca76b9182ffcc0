#!/usr/bin/env bash
# GPU check: train the default pipeline with JAX on a GPU, print training
# images/s on the GPU and on the same machine's CPU, the ROC-AUC of held-out
# patients, and whether GPU and CPU predictions of the trained network agree.
# Runs from the repository root (benchmarks/maint/gpu_check.py does the work).
#
# Written for a GPU machine that has Python 3.12, JAX (CUDA) and PyTorch but
# no TensorFlow, no Keras and no network. Two git-ignored things must travel
# with the working tree (about 62 MB together):
#
#   benchmarks/_work/train128.npz   the 5,216 training images at 128 px, uint8,
#       row-delta coded (49.7 MB). Made here, beside ../shared/data, by
#           python -m benchmarks.maint.pack_data
#       These are the data set's images: never commit it.
#   benchmarks/_wheels/             keras, scikeras, imbalanced-learn,
#       sklearn-compat, scikit-learn and keras' two missing needs (12.3 MB):
#           python3 -m pip download --no-deps --only-binary=:all: \
#             --python-version 3.12 --implementation cp \
#             --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#             --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#             -d benchmarks/_wheels keras==3.15.1 namex==0.1.0 optree==0.20.0 \
#             scikeras==0.13.0 imbalanced-learn==0.14.2 sklearn-compat==0.1.6 \
#             scikit-learn==1.9.1
#
# With this workplace's device tool: run with
#   carry=["benchmarks/_work/train128.npz", "benchmarks/_wheels"]
#   command="bash benchmarks/maint/gpu_check.sh --out $OUT"
# Not yet run on a GPU: estimated at 2-5 minutes plus the machine's start (give
# it timeout_s=600). The summary table is printed last; gpu_check.json goes to
# --out. Exit status 1 if GPU and CPU predictions disagree.
#
# Without a GPU, test the whole chain on the CPU on a tiny subset (any Python
# with skpneumo's requirements and jax; the wheels are used only if keras,
# scikeras or imbalanced-learn are missing):
#   python -m benchmarks.maint.pack_data --limit 160 --out benchmarks/_work/smoke128.npz
#   PYTHON=.venv/bin/python bash benchmarks/maint/gpu_check.sh --smoke --data benchmarks/_work/smoke128.npz
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DATA=benchmarks/_work/train128.npz
for ((i = 1; i <= $#; i++)); do  # a --data argument names another pack
    if [ "${!i}" = "--data" ]; then j=$((i + 1)); DATA=${!j}; fi
done
if [ ! -f "$DATA" ]; then
    echo "gpu_check: $DATA is missing. Make it beside ../shared/data with" >&2
    echo "  python -m benchmarks.maint.pack_data" >&2
    echo "and carry it to this machine (it is git-ignored, and must stay so)." >&2
    exit 2
fi

if ! "$PYTHON" -c "import keras, scikeras, imblearn, sklearn_compat" 2>/dev/null; then
    if ! ls benchmarks/_wheels/*.whl >/dev/null 2>&1; then
        echo "gpu_check: keras/scikeras/imbalanced-learn are missing and" >&2
        echo "benchmarks/_wheels/ holds no wheels: see the top of this script." >&2
        exit 2
    fi
    SITE=$(mktemp -d /tmp/skpneumo-site.XXXXXX)
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$SITE" benchmarks/_wheels/*.whl
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# skpneumo itself is used from this working tree
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # take GPU memory as needed
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1

"$PYTHON" - <<'EOF'
import platform, jax, keras, sklearn, imblearn, scikeras
print(f"python {platform.python_version()}; jax {jax.__version__} {jax.devices()}; "
      f"keras {keras.__version__}; scikit-learn {sklearn.__version__}; "
      f"imbalanced-learn {imblearn.__version__}; scikeras {scikeras.__version__}")
EOF
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
exec "$PYTHON" -m benchmarks.maint.gpu_check "$@"
