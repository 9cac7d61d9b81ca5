import json
import subprocess
import sys


def test_bench_reports_ratios_measured_in_one_run():
    out = subprocess.run([sys.executable, "-m", "colorlib", "bench", "--quick", "--json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    enc = data["encoding"]
    assert enc["lab_soft_encoding_speedup"] > 0 and enc["onehot_over_soft_time"] > 0
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
