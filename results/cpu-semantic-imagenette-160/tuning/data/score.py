"""Score the current semantic full-soft and the mixed-data one(s) alike (the current model's prior)."""
import sys, shutil, json
from pathlib import Path
from colorlib.tune import set_out_snapshot
from colorlib.evaluate import evaluate
KEYS = ('auc_raw', 'auc_rebal', 'auc_classbal', 'top1', 'colorfulness', 'warm_cool')
models = {'current': Path('/tmp/mixeval/cur')}
if not models['current'].exists():
    models['current'].mkdir(); shutil.copytree('/work/main/results/cpu-semantic-imagenette-160/full-soft', models['current'] / 'full-soft')
for step in map(int, sys.argv[1:]):
    out = Path(f'/tmp/mixeval/mix{step}')
    if not (out / 'full-soft/model.pt').exists():
        (shutil.copytree('/tmp/mixrun/full-soft', out / 'full-soft') if step == 1500 else set_out_snapshot(Path('/tmp/mixrun/full-soft'), out / 'full-soft', step))
    models[f'mix{step}'] = out
PRIOR = '/work/main/results/cpu-semantic-imagenette-160'
sets = [('imagenette tune', '/work/shared/datasets/imagenette-160', 'tune'),
        ('nips17 tune', '/work/shared/datasets/nips17-dev', 'tune'),
        ('nips17 val', '/work/shared/datasets/nips17-dev', 'val')]
res = {}
for label, data, split in sets:
    evs = {}
    for name, runs in models.items():
        ev = evaluate(runs, data=data, profile='cpu-semantic', prior_of=PRIOR, losses=['full-soft'], split=split, cache='scores')
        r = next(x for x in ev.rows if x['method'] == 'full-soft')
        evs[name] = ev
        res[(label, name)] = {k: round(r[k], 2) for k in KEYS if k in r}
        print(label, len(ev.eval_set.L), name, json.dumps(res[(label, name)]), flush=True)
    from colorlib.evaluate import combine
    both = combine(evs)
    for name in list(models)[1:]:
        d = {k: both.compare(f'{name} full-soft', 'current full-soft', k) for k in KEYS}
        print('   ', label, name, '- current:', {k: f"{v['difference']:+.2f} [{v['low']:+.2f}, {v['high']:+.2f}]" for k, v in d.items()}, flush=True)
        res[(label, f'{name} - current')] = {k: [round(v['difference'], 2), round(v['low'], 2), round(v['high'], 2)] for k, v in d.items()}
json.dump({f'{a} | {b}': v for (a, b), v in res.items()}, open('/tmp/mixeval/results.json', 'w'), indent=1)
