"""Reading finished runs back from disk and comparing them across seeds.

Modules, one job each, imports one way (compare -> report -> results -> runs, stats):
    runs     finding run directories, reading their config.yaml and event files
    stats    IQM, stratified bootstrap intervals, probability of improvement
    results  what a comparison holds: Comparison, MetricResult, GroupResult, Curve, Improvement
    compare  the estimates of a comparison and the `maze-compare` command line
    report   console tables, report.md and PNG plots of a comparison

Nothing here runs training: the runs are read from their directories, so this package needs
nothing of `experiments`, and of `memory` only the registry of modes (to order groups).
"""
