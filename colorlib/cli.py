"""The ``colorlib`` command (also ``python -m colorlib``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

import numpy as np

from .data import TRAIN_SPLITS, NoUsableImages

USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError, NoUsableImages, RuntimeError)


def _print(obj: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, indent=None if len(json.dumps(obj)) < 200 else 1))
    else:
        for key, value in obj.items():
            print(f"{key}: {value}")


def cmd_bins(args: argparse.Namespace) -> None:
    from .quantize import gamut_bins

    bins = gamut_bins(args.grid, args.rule)
    out = {"grid": args.grid, "rule": args.rule, "Q": len(bins), "bins": bins.tolist()}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"grid {args.grid}, rule {args.rule}: Q = {len(bins)} in-gamut bins")


def cmd_prior(args: argparse.Namespace) -> None:
    from .profiles import get_profile
    from .quantize import gamut_bins
    from .rebalance import rebalance_weights, training_prior

    bins = gamut_bins()
    prior, counts, photos = training_prior(args.data, get_profile(args.profile), split=args.split,
                                           size=args.size, sigma=args.sigma, bins=bins)
    weights = rebalance_weights(prior, args.lam)
    out = {
        "photos": photos, "pixels": int(counts.sum()), "Q": len(bins), "sigma": args.sigma, "lambda": args.lam,
        "bins": bins.tolist(), "prior": prior.tolist(), "weights": weights.tolist(),
        "sum_prior_times_weight": float((prior * weights).sum()),
    }
    if args.json:
        print(json.dumps(out))
    else:
        top = np.argsort(prior)[::-1][:5]
        print(f"prior over {photos} training photos ({out['pixels']} pixels), Q = {len(bins)}")
        print("most common bins (a, b, p): " + ", ".join(f"({bins[i][0]:.0f},{bins[i][1]:.0f},{prior[i]:.4f})"
                                                        for i in top))
        print(f"weights (lambda={args.lam}): min {weights.min():.3f}, max {weights.max():.3f}")


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["lr=3e-4", "width=0.5"]`` -> {field: value} (checked against the profile later, before any work)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"set: expected FIELD=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import run
    from .profiles import get_profile, with_overrides

    overrides = parse_overrides(args.set)
    for name in args.profile or []:
        with_overrides(get_profile(name), overrides)  # a bad name or override fails before any work
    _print(run(args.data, quick=args.quick, profiles=args.profile, overrides=overrides, steps=args.steps,
               device=args.device, peak_tflops=args.peak_tflops), args.json)


def training_folder(data: str | None, profile: str | None) -> str | None:
    """The folder a ``train`` or ``tune`` command trains on (:func:`colorlib.paths.training_photos`), as a string."""
    from .paths import training_photos
    from .profiles import get_profile

    if data is not None:
        return data  # as given: training checks it and names the option in its error
    folder = training_photos(get_profile(profile))
    return None if folder is None else str(folder)


def cmd_train(args: argparse.Namespace) -> None:
    from .train import TrainConfig, train

    cfg = TrainConfig(loss=args.loss, profile=args.profile, data=training_folder(args.data, args.profile), out=args.out,
                      steps=args.steps,
                      seed=args.seed, device=args.device, lam=args.lam, split=args.split, resume=args.resume,
                      overrides=parse_overrides(args.set), base=args.base, snapshots=tuple(sorted(args.keep_at)))
    folder = train(cfg)
    print(f"trained {args.loss}: {folder}")


def cmd_tune(args: argparse.Namespace) -> None:
    from .tune import run_length_trials, run_solver_trials, run_trial

    overrides = parse_overrides(args.set)
    data = training_folder(args.data, args.base)
    if args.solvers:
        if overrides:
            raise ValueError("solvers: the solver trials take no --set (their candidates are colorlib.profiles.SOLVER_CANDIDATES)")
        for trial in run_solver_trials(args.loss, data, args.out, args.base, args.classifier):
            print(json.dumps(trial))
        return
    if args.lengths:
        if set(overrides) - {"decay", "lr"}:
            raise ValueError("lengths: the length trials take only a solver as --set (decay, lr); their lengths are "
                             "colorlib.profiles.LENGTH_CANDIDATES")
        for trial in run_length_trials(args.loss, data, args.out, args.base, args.classifier, overrides):
            print(json.dumps(trial))
        return
    print(json.dumps(run_trial(args.loss, data, args.out, args.base, overrides, args.classifier)))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluate import COLUMN, COLUMNS, evaluate
    from .reading import interval

    if args.compare and (args.compare_key not in COLUMN or not COLUMN[args.compare_key].interval):
        raise ValueError(f"compare-key: {args.compare_key!r} has no interval; allowed: "
                         + ", ".join(c.key for c in COLUMNS if c.interval))  # before any work
    result = evaluate(args.runs, args.data, args.profile, args.classifier, args.limit, ci=not args.no_ci,
                      split=args.split, device=args.device)
    rows, scored = result.rows, result.eval_set
    methods = {r["method"] for r in rows}
    for pair in args.compare:
        unknown = [m for m in pair if m not in methods]
        if unknown:
            raise ValueError(f"compare: no row {unknown[0]!r}; rows: {', '.join(sorted(methods))}")
    paired = [result.compare(a, b, args.compare_key) for a, b in args.compare]
    where = f"{scored.split} split: {len(scored.L)} of the source's {scored.source_photos} photos scored"
    print(f"colorlib evaluate: {where}; rebalanced AuC weights from {result.prior_source}", file=sys.stderr)
    checked = []
    if args.claims:
        from .claims import check_claims

        checked = check_claims(result)
    if args.json:
        extra = {k: v for k, v in (("paired", paired), ("claims", checked)) if v}
        print(json.dumps({"rows": rows, **extra} if extra else rows))
        return
    print(f"{'method':>13s} " + " ".join(f"{c.header:>18s}" for c in COLUMNS))
    for r in rows:
        print(f"{r['method']:>13s} " + " ".join(f"{format(r[c.key], c.fmt):>18s}" for c in COLUMNS))
    print(f"{where}; top-1 by {rows[0]['classifier']} ({rows[0]['top1_kind']})")
    for p in paired:
        print(f"{p['a']} - {p['b']} ({p['key']}): {interval(p, '+.2f')} (paired 95% interval)")
    for c in checked:
        ours = interval(c, "+.2f") if "difference" in c else "–"
        print(f"{c['verdict']:>11s}: {c['claim']} ({ours})")


def cmd_colorize(args: argparse.Namespace) -> None:
    from .evaluate import colorize_files
    from .hints import parse_hint

    hints = [parse_hint(h) for h in args.hint]
    failed = colorize_files(args.images, args.checkpoint, args.out, args.size, hints=hints or None)
    if failed:
        raise SystemExit(1)


def cmd_export_onnx(args: argparse.Namespace) -> None:
    from .evaluate import default_checkpoint
    from .export import export_onnx

    meta = export_onnx(args.checkpoint or default_checkpoint(), args.out, fp16=not args.fp32)
    _print({k: v for k, v in meta.items() if k != "bins"}, args.json)


def cmd_pack(args: argparse.Namespace) -> None:
    from .gpurun import pack

    _print(pack(args.data, args.out, args.side, args.quality), args.json)


def cmd_gpu_run(args: argparse.Namespace) -> None:
    from .gpurun import run

    summary = run(args.data, args.out, parse_overrides(args.set), args.budget_minutes, bench_steps=args.bench_steps,
                  steps=args.steps, eval_limit=args.limit, device=args.device, classifier=args.classifier)
    minutes = ", ".join(f"{loss} {r.get('minutes', float('nan')):.2f}" for loss, r in summary["losses"].items())
    print(f"colorlib gpu-run: {summary['steps']} steps per loss ({summary['steps_source']}); minutes: {minutes}; "
          f"total {summary['total_minutes']:.2f} min; files in {args.out}")


def cmd_download(args: argparse.Namespace) -> None:
    from .download import fetch

    print(fetch(args.name, args.root))


def build_parser() -> argparse.ArgumentParser:
    from .gpurun import BUDGET_MINUTES
    from .paths import RUNS
    from .quantize import DEFAULT_RULE, RULES
    from .rebalance import DEFAULT_LAMBDA, DEFAULT_PRIOR_SIGMA

    parser = argparse.ArgumentParser(prog="colorlib", description="Colorful Image Colorization, the library.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bins", help="the quantized in-gamut ab bins")
    p.add_argument("--grid", type=float, default=10)
    p.add_argument("--rule", choices=RULES, default=DEFAULT_RULE)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bins)

    p = sub.add_parser("prior", help="empirical ab prior and rebalancing weights of a training split")
    p.add_argument("--data", help="image folder (default: $COLORLIB_DATA, else the embedded photos)")
    p.add_argument("--profile", help="smoke, cpu or gpu: its evaluation size and gray threshold (default: gpu with CUDA, else cpu)")
    p.add_argument("--split", default="train", choices=TRAIN_SPLITS, help="train (default) or fit")
    p.add_argument("--lam", type=float, default=DEFAULT_LAMBDA, help="λ of the rebalancing weights")
    p.add_argument("--sigma", type=float, default=DEFAULT_PRIOR_SIGMA, help="Gaussian smoothing of the prior, Lab units")
    p.add_argument("--size", type=int, help="centre-crop size (default: the profile's evaluation size)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prior)

    p = sub.add_parser("bench", help="speed ratios, measured side by side")
    p.add_argument("--data")
    p.add_argument("--quick", action="store_true", help="a small run (tests)")
    p.add_argument("--profile", action="append", help="time only this profile's training step (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a profile field, e.g. --set precision=fp16 (repeatable)")
    p.add_argument("--steps", type=int, help="timed steps per profile (default 8, quick 2)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--peak-tflops", type=float,
                   help="report MFU against this peak (default: a known GPU's dense bf16 peak; none on a CPU)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("train", help="train the network with one of the four losses")
    p.add_argument("--loss", required=True, help="l2, class, full-soft or full-onehot; psnr for a hint profile")
    p.add_argument("--profile", help="smoke, cpu or gpu, their -semantic and -hints counterparts (default: gpu with "
                   "CUDA, else cpu)")
    p.add_argument("--train-data", "--data", dest="data", help="the photos to train on (default: $COLORLIB_TRAIN_DATA, else the profile's data set under "
                   "../shared/datasets, e.g. imagenette-160, else $COLORLIB_DATA, else the embedded photos)")
    p.add_argument("--out", default=str(RUNS), help="runs folder; the run goes to OUT/LOSS/")
    p.add_argument("--steps", type=int, help="override the profile's number of steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--lam", type=float, default=DEFAULT_LAMBDA, help="λ of the rebalancing weights")
    p.add_argument("--split", default="train", choices=TRAIN_SPLITS,
                   help="train (default), or fit = train minus the tune photos, for tuning a profile")
    p.add_argument("--resume", action="store_true", help="continue from OUT/LOSS/checkpoint.pt")
    p.add_argument("--keep-at", type=int, action="append", default=[], metavar="STEP",
                   help="also keep the model as it is at STEP (OUT/LOSS/model-STEP.pt), as the length trials do (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a profile field, e.g. --set precision=fp32 or --set data_mode=stream (repeatable)")
    p.add_argument("--base", help="a hint profile (cpu-hints, …; chapter 10): the semantic model.pt it starts from "
                   "(default: the book's full-soft model of the profile's semantic counterpart)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="a tuning trial: train on fit, score on tune (never val)")
    p.add_argument("--loss", required=True, help="l2, class, full-soft or full-onehot")
    p.add_argument("--base", default="cpu", help="the profile the trial changes (default: cpu)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change one profile field, e.g. --set lr=3e-4 (repeatable)")
    p.add_argument("--train-data", "--data", dest="data", help="the photos to train on (default: $COLORLIB_TRAIN_DATA, else the profile's data set under "
                   "../shared/datasets, e.g. imagenette-160, else $COLORLIB_DATA, else the embedded photos)" + "; its fit photos train, its tune photos score")
    p.add_argument("--out", default="runs/tuning", help="trials folder; results go to OUT/trials.jsonl")
    p.add_argument("--classifier", default="auto", help="auto, vgg16 or efficientnet")
    p.add_argument("--solvers", action="store_true",
                   help="run every solver candidate (decay × learning rate, at 1/5 of the profile's steps): chapter 5's rule")
    p.add_argument("--lengths", action="store_true",
                   help="run the length trials (one run of the longest candidate, kept at the shorter ones): chapter 5's rule")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="AuC, classifier top-1, colourfulness, PSNR of baselines and trained losses")
    p.add_argument("--runs", help="runs folder holding LOSS/model.pt (default: the book's, results/PROFILE-DATA or runs/PROFILE-DATA)")
    p.add_argument("--data", help="image folder (default: $COLORLIB_DATA, else the embedded photos)")
    p.add_argument("--profile", help="evaluation size when no run is found (default: gpu with CUDA, else cpu)")
    p.add_argument("--classifier", default="auto", help="auto, vgg16 or efficientnet")
    p.add_argument("--limit", type=int, help="evaluate only the first N photos of the split")
    p.add_argument("--no-ci", action="store_true", help="skip the bootstrap confidence intervals")
    p.add_argument("--split", choices=("val", "all", "tune"),
                   help="val (default: the validation photos of --data, whatever the runs trained on), all, or "
                        "tune = the held-out part of train, for tuning a profile")
    p.add_argument("--compare", nargs=2, action="append", default=[], metavar=("A", "B"),
                   help="paired bootstrap of method A minus method B on the same photos (repeatable)")
    p.add_argument("--compare-key", default="auc_rebal", help="the column --compare compares (default auc_rebal)")
    p.add_argument("--claims", action="store_true", help="also check the seed study's claims (chapter 6) on these rows")
    p.add_argument("--device", default="cpu", help="where the networks predict: cpu (default), cuda or auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("colorize", help="colorize photos at their own resolution with a trained model")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("--checkpoint",
                   help="a model.pt or checkpoint.pt, or zhang-eccv16 (Zhang's released weights, once downloaded); "
                        "default: the best committed model (results/cpu-semantic-imagenette-160/full-soft)")
    p.add_argument("--out", required=True, help="output folder (PNG)")
    p.add_argument("--size", type=int, help="prediction resolution (shorter side); default: the run's")
    p.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB[,SIZE]",
                   help="give the pixel at column X, row Y (the photo's own pixels, from its top-left corner) the "
                        "colour #RRGGBB, as a SIZE×SIZE patch (default 6); repeatable. Needs a hint colorizer: the "
                        "default --checkpoint is then the committed one (results/cpu-hints-nips17-dev/psnr)")
    p.set_defaults(func=cmd_colorize)

    p = sub.add_parser("export-onnx", help="a trained colorizer as an ONNX graph (chapter 9's in-browser page)")
    p.add_argument("--checkpoint", help="a model.pt (default: the best committed model, results/cpu-semantic-imagenette-160/full-soft)")
    p.add_argument("--out", required=True, help="the .onnx file to write (its metadata goes beside it, as .json)")
    p.add_argument("--fp32", action="store_true", help="keep the weights in fp32 (default: fp16, cast to fp32 in the graph)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export_onnx)

    p = sub.add_parser("pack", help="a compact copy of a photo folder (for a machine that reaches nothing else)")
    p.add_argument("--data", required=True, help="the photo folder to copy")
    p.add_argument("--out", required=True, help="where the copy goes (an ignored folder of the checkout)")
    p.add_argument("--side", type=int, default=256, help="shorter side in pixels (never enlarged); default 256")
    p.add_argument("--quality", type=int, default=85, help="JPEG quality (no chroma subsampling); default 85")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("gpu-run", help="bench, the four losses at the gpu profile, evaluation and gallery, in one folder")
    p.add_argument("--data", required=True, help="photo folder (the packed copy: make gpu-prepare)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a gpu-profile field (the CI dry run shrinks the network)")
    p.add_argument("--budget-minutes", type=float, default=BUDGET_MINUTES,
                   help=f"training time for the four losses; the steps are capped to fit it (default {BUDGET_MINUTES})")
    p.add_argument("--bench-steps", type=int, default=20, help="timed steps of the bench (default 20)")
    p.add_argument("--steps", type=int, help="steps per loss (default: the profile's, capped by the budget)")
    p.add_argument("--limit", type=int, help="evaluate only the first N validation photos")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--classifier", default="auto", help="auto, vgg16 or efficientnet")
    p.set_defaults(func=cmd_gpu_run)

    p = sub.add_parser("download", help="download a public dataset or pretrained weights (needs internet)")
    p.add_argument("name", help="imagenette-160 (dataset), zhang-eccv16 or vgg16 (weights)")
    p.add_argument("--root", help="folder (default: data/ for datasets, PyTorch's hub cache for weights)")
    p.set_defaults(func=cmd_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="colorlib: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        return 130
    except USER_ERRORS as exc:
        print(f"colorlib {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
