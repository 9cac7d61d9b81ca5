import json
import subprocess
import sys


def test_bench_reports_ratios_measured_in_one_run():
    out = subprocess.run([sys.executable, "-m", "colorlib", "bench", "--quick", "--json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    enc = data["encoding"]
    assert enc["lab_soft_encoding_speedup"] > 0 and enc["onehot_over_soft_time"] > 0
    low, high = enc["onehot_over_soft_range"]
    assert low <= enc["onehot_over_soft_time"] <= high and enc["repeats"] >= 3
    smoke = data["training"]["smoke"]
    assert smoke["steps_per_s"] > 0 and 0 <= smoke["share_outside_network"] <= 1
    assert abs(smoke["share_data_wait"] + smoke["share_encode_loss"] - smoke["share_outside_network"]) < 1e-9


def test_training_bench_works_with_fewer_photos_than_a_batch(monkeypatch):
    from colorlib.bench import training_bench
    from colorlib.paths import embedded_images
    from colorlib.profiles import get_profile

    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    assert len(embedded_images()) < get_profile("cpu").batch  # the embedded photos: less than one batch
    out = training_bench("cpu", None, steps=1)
    assert out["photos"] < out["batch"] and out["steps_per_s"] > 0


def _counted_by_hand(settings: dict, size: int) -> int:
    """FLOPs of one training image from the layers' shapes: 2·(multiply-adds) for each convolution's
    forward, the same again for its weight gradient, and again for its input gradient except at the
    first layer (L needs no gradient)."""
    import torch

    from colorlib.model import build_network

    model = build_network(settings)
    model.select_heads(False)
    forward: list[int] = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.ConvTranspose2d):  # every input pixel meets the whole kernel
            x = inputs[0]
            macs = x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3] * module.out_channels * module.kernel_size[0] * module.kernel_size[1]
        else:
            macs = output.numel() * (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        forward.append(2 * macs)

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            m.register_forward_hook(hook)
    model(torch.rand(1, 1, size, size) * 100)
    return 3 * sum(forward) - forward[0]


def test_model_flops_match_the_layer_arithmetic_and_the_gpu_sizing():
    from colorlib import profiles
    from colorlib.bench import model_flop_utilisation, model_flops_per_image

    smoke = profiles.get_profile("smoke").as_dict()
    assert model_flops_per_image(smoke, 64) == _counted_by_hand(smoke, 64)
    gpu = profiles.get_profile("gpu").as_dict()
    counted = model_flops_per_image(gpu, gpu["crop"])
    assert abs(counted - profiles.GPU_FLOPS_PER_IMAGE) / counted < 1e-3  # the constant the sizing uses
    assert counted == _counted_by_hand(gpu, gpu["crop"])
    # MFU = achieved model FLOP/s over the peak; the gpu profile's steps follow from the assumed MFU
    assert model_flop_utilisation(1e9, 250.0, 1e12) == 0.25
    images_per_s = profiles.GPU_EXPECTED_MFU * profiles.GPU_PEAK / profiles.GPU_FLOPS_PER_IMAGE
    assert profiles.get_profile("gpu").steps == int(profiles.GPU_SECONDS_PER_LOSS * images_per_s / 40) // 100 * 100
    assert 2000 <= profiles.GPU_STEPS <= 10000  # "several thousand steps at batch 40"


def test_bench_of_the_gpu_profile_reports_its_fields_on_cpu():
    out = subprocess.run([sys.executable, "-m", "colorlib", "bench", "--profile", "gpu", "--steps", "1",
                          "--set", "width=0.0625", "--set", "crop=64", "--set", "batch=2", "--set", "eval_size=64",
                          "--set", "workers=0", "--set", "data_mode=device", "--set", "precision=bf16",
                          "--set", "memory_format=channels-last", "--peak-tflops", "0.5", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    gpu = json.loads(out.stdout)["training"]["gpu"]
    assert (gpu["precision"], gpu["memory_format"], gpu["data_mode"]) == ("bf16", "channels-last", "device")
    for key in ("images_per_s", "share_outside_network", "share_data_wait", "data_wait_ms_per_step",
                "model_flops_per_image", "model_tflops_per_s"):
        assert gpu[key] >= 0, key
    # MFU against the given peak: the arithmetic the H200 run reports against 989 TFLOP/s
    assert gpu["peak_tflops"] == 0.5 and abs(gpu["mfu"] - gpu["model_tflops_per_s"] / 0.5) < 1e-12


def test_the_encoding_bench_measures_the_same_through_the_cli_and_directly():
    """The CLI once reported a 0.2× speed-up where a direct call gave 4×: the two paths must agree."""
    from colorlib.bench import QUICK_PHOTOS

    cli = json.loads(subprocess.run([sys.executable, "-m", "colorlib", "bench", "--quick", "--json"],
                                    capture_output=True, text=True, check=True).stdout)["encoding"]
    code = f"import json; from colorlib.bench import encoding_bench; print(json.dumps(encoding_bench(n={QUICK_PHOTOS}, repeats=3)))"
    direct = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    ratio = cli["lab_soft_encoding_speedup"] / direct["lab_soft_encoding_speedup"]
    assert 0.5 <= ratio <= 2.0, (cli, direct)
