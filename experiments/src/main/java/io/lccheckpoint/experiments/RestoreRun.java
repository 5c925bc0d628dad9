package io.lccheckpoint.experiments;

/** The restore-pushdown experiment's outcome (HAPI, issue #5): bytes and seconds of a naive replay, a whole read, a pushdown. */
record RestoreRun(int steps, long parameters, long naiveBytes, long fullBytes, double fullSeconds, long pushdownBytes, double pushdownSeconds,
                  long superstep, long deltas) {
    double pushdownGain() {
        return (double) naiveBytes / pushdownBytes;
    }
}
