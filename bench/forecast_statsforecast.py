"""Forecasts the bench's series with Nixtla's statsforecast, for `npm run bench:forecast`.

Reads {"horizon": h, "series": [{"id", "class", "train": [...]}, ...]} on stdin and writes
{"forecasts": {id: [...]}, "seconds": s} on stdout: AutoETS (weekly season) for the seasonal
and trending classes, CrostonOptimized for the intermittent and lumpy ones.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, CrostonOptimized


def frame(series):
    rows = []
    for s in series:
        dates = pd.date_range("2026-01-01", periods=len(s["train"]), freq="D")
        rows.append(pd.DataFrame({"unique_id": s["id"], "ds": dates, "y": np.asarray(s["train"], dtype=float)}))
    return pd.concat(rows, ignore_index=True)


def main():
    request = json.load(sys.stdin)
    horizon = request["horizon"]
    smooth = [s for s in request["series"] if s["class"] in ("seasonal", "trending")]
    sparse = [s for s in request["series"] if s["class"] in ("intermittent", "lumpy")]
    out = {}
    started = time.perf_counter()
    for series, model in ((smooth, AutoETS(season_length=7)), (sparse, CrostonOptimized())):
        if not series:
            continue
        fitted = StatsForecast(models=[model], freq="D", n_jobs=1).forecast(df=frame(series), h=horizon)
        column = [c for c in fitted.columns if c not in ("unique_id", "ds")][0]
        for uid, group in fitted.groupby("unique_id"):
            out[str(uid)] = [max(0.0, float(v)) if np.isfinite(v) else 0.0 for v in group[column].to_numpy()]
    json.dump({"forecasts": out, "seconds": time.perf_counter() - started}, sys.stdout)


if __name__ == "__main__":
    main()
