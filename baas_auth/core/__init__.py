"""The pure core: decisions on plain values, with no I/O, clock, threads or logging."""
