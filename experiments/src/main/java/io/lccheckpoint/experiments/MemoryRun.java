package io.lccheckpoint.experiments;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One run of the memory experiment (HAPI, issue #5): jobs against an encoder at -Xmx512m, with or without the budget. */
record MemoryRun(boolean budget, int jobs, boolean completed, double seconds, double valuesPerSecond, String failure, String memory) {
    private static final Pattern LIVE_HEAP = Pattern.compile("live heap after collections peak (\\d+) MB");

    /** The live heap's peak in the encoder's memory figures (MB), or -1. */
    long liveHeapPeak() {
        Matcher matcher = LIVE_HEAP.matcher(memory);
        return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
    }
}
