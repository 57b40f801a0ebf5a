"""A run's metrics kept small for runs of hours and days, written crash-safe, read in constant
memory (issue 28).

    <run>/metrics/
        format.json        what the files below hold (block sizes, EMA weight) and a generation
                           that a truncation (resume) increments, so followers start over
        loss-000000.f32    the loss of every step, float32 (NaN: no loss), 2^20 steps a file;
                           only the latest 8.4 M steps are kept (older files are deleted once the
                           blocks below hold them, and never past the last checkpoint)
        blocks-512.bin     per block of 512 steps, exactly: count, sum, min, max, last, and the sum
                           and end value of the smoothed line (the chart's EMA) over the block
        blocks-65536.bin   the same per 65,536 steps (a chart of any run reads a few thousand)
        marks.bin          (step, epoch, wall_s) about once a second: where the run stood when
        events.jsonl       what happens now and then, kept exactly: knob changes, evaluations,
                           epoch ends (at most one a second unless they carry an evaluation):
                           {"step": 1200, "kind": "knob", "knob": "learning_rate", ...}

Why this shape (measured; benchmarks/bench_long_runs.py --study): a per-step JSON line costs
~73 bytes, a float32 4, and a day at 4,000 steps/s is 346 M steps: 26 GB as JSON, 1.4 GB as
float32, but ~27 MB as 512-step blocks of 40 bytes (+32 MiB of kept steps). The losses are
float32 in TensorFlow already, so float32 loses nothing.

Modules, one concept each (a reader never imports the writer but to convert an old file):
    format.py   file names, record types, format.json, the small shared reads
    blocks.py   the per-block aggregates: computing, merging (the EMA vectorized)
    layout.py   what is on disk now, the kept losses, blocks a crash left unwritten
    writer.py   MetricsWriter: appends, flushes, repair at open, truncation for a resume
    legacy.py   an older rnntui's metrics.jsonl: parsed in batches, converted once
    reader.py   MetricsReader: chart bins, tail, every point, events; a sweep's mean curve
    binning.py  chart edges, bins read step by step
    events.py   events and marks
    follow.py   MetricsFollower: a live run, only what is new
    opening.py  a run folder's metrics in either form (open_metrics, stored_steps)
    export.py   CSV of every stored point, streaming
"""
