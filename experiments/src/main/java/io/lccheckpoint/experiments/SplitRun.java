package io.lccheckpoint.experiments;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** One configuration's outcome in the split experiment (HAPI, issue #5), and how runs of a configuration are compared. */
record SplitRun(int round, long parameters, double quotaMBps, String split, int steps, double stepSeconds, double trainerCpuPerStep,
                double networkBytesPerStep, double encoderCpuPerStep, String finalSplit, long switches) {

    /** The run with the median step time (the lower of the two middle ones for an even count); null for none. */
    static SplitRun median(List<SplitRun> runs) {
        if (runs == null || runs.isEmpty()) {
            return null;
        }
        List<SplitRun> sorted = runs.stream().sorted(Comparator.comparingDouble(SplitRun::stepSeconds)).toList();
        return sorted.get((sorted.size() - 1) / 2);
    }

    /** A configuration's run in {@code round}, or its first round's if it was not run again. */
    static SplitRun inRound(List<SplitRun> runs, int round) {
        return runs.stream().filter(r -> r.round() == round).findFirst().orElse(runs.get(0));
    }

    /** A configuration's runs of one split, in the order they ran. */
    static List<SplitRun> runsOf(List<SplitRun> runs, long parameters, double quota, String split) {
        return runs.stream().filter(r -> r.parameters() == parameters && r.quotaMBps() == quota && r.split().equals(split)).toList();
    }

    /** A configuration's first run of one split (the first round's), or null. */
    static SplitRun first(List<SplitRun> runs, long parameters, double quota, String split) {
        return runsOf(runs, parameters, quota, split).stream().findFirst().orElse(null);
    }

    /** "5 MB/s", or {@code none} for no quota. */
    static String quotaLabel(double megabytesPerSecond, String none) {
        return megabytesPerSecond == 0 ? none : String.format(Locale.ROOT, "%.0f MB/s", megabytesPerSecond);
    }
}
