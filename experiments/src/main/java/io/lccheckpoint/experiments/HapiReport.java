package io.lccheckpoint.experiments;

import io.lccheckpoint.eval.Plots;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The HAPI section of docs/EVALUATION.md ({@code hapi-section.md.mustache}) and its two plots: the split table with the
 * targets judged on the medians of the rounds, the restore pushdown, the memory table.
 */
final class HapiReport {
    /** The report section this experiment owns (see {@link ReportSections}). */
    static final String SECTION = "hapi";
    private static final List<String> SPLITS = List.of("storage", "trainer", "auto");

    private final Path report;
    private final boolean quick;

    HapiReport(Path report, boolean quick) {
        this.report = report;
        this.quick = quick;
    }

    void write(List<SplitRun> splits, List<MemoryRun> memory, RestoreRun restore, double elapsed, int rounds) throws IOException {
        Map<String, Object> scope = new HashMap<>();
        scope.put("quickFlag", quick ? " --quick" : "");
        scope.put("elapsed", format("%.0f", elapsed));
        scope.put("cores", Runtime.getRuntime().availableProcessors());
        scope.put("rounds", rounds);
        scope.put("hopeless", format("%.0f", SplitExperiment.HOPELESS));
        Map<String, Map<String, List<SplitRun>>> byConfig = new LinkedHashMap<>();
        for (SplitRun r : splits) {
            byConfig.computeIfAbsent(r.parameters() + "/" + r.quotaMBps(), k -> new LinkedHashMap<>()).computeIfAbsent(r.split(), k -> new ArrayList<>()).add(r);
        }
        splitTable(scope, byConfig);
        splitTargets(scope, byConfig, rounds);
        splitPlot(byConfig);
        splitSpeedup(scope, splits);
        restore(scope, restore);
        Map<String, List<MemoryRun>> memoryByConfig = new LinkedHashMap<>();
        for (MemoryRun r : memory) {
            memoryByConfig.computeIfAbsent(r.budget() + "/" + r.jobs(), k -> new ArrayList<>()).add(r);
        }
        memoryTable(scope, memoryByConfig);
        memoryPlot(memoryByConfig);
        memoryTargets(scope, memory);
        ReportSections.write(report, SECTION, Templates.render("hapi-section.md.mustache", scope));
        System.out.println("section written to " + report);
    }

    private static void splitTable(Map<String, Object> scope, Map<String, Map<String, List<SplitRun>>> byConfig) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map<String, List<SplitRun>> config : byConfig.values()) {
            for (String split : SPLITS) {
                List<SplitRun> all = config.get(split);
                SplitRun r = SplitRun.median(all);
                String each = all.stream().sorted(Comparator.comparingInt(SplitRun::round)).map(x -> format("%.3f", x.stepSeconds()))
                        .collect(Collectors.joining(" / "));
                rows.add(Map.of("parameters", r.parameters() / 1_000_000, "quota", SplitRun.quotaLabel(r.quotaMBps(), "none"), "split", r.split(),
                        "stepSeconds", format("%.3f", r.stepSeconds()), "each", each, "steps", r.steps(),
                        "trainerCpu", format("%.3f", r.trainerCpuPerStep()), "network", format("%.2f", r.networkBytesPerStep() / 1e6),
                        "encoderCpu", format("%.3f", r.encoderCpuPerStep()), "ends", r.finalSplit() + " (" + r.switches() + " switches)"));
            }
        }
        scope.put("splitRows", rows);
    }

    /** The targets, on the medians of the rounds, and the same criterion within each round alone. */
    private static void splitTargets(Map<String, Object> scope, Map<String, Map<String, List<SplitRun>>> byConfig, int rounds) {
        int configurations = 0;
        int autoWithin = 0;
        int[] withinInRound = new int[rounds];
        List<Map<String, Object>> misses = new ArrayList<>();
        for (Map<String, List<SplitRun>> config : byConfig.values()) {
            SplitRun auto = SplitRun.median(config.get("auto"));
            double best = Math.min(SplitRun.median(config.get("storage")).stepSeconds(), SplitRun.median(config.get("trainer")).stepSeconds());
            configurations++;
            if (auto.stepSeconds() <= 1.05 * best) {
                autoWithin++;
            } else {
                misses.add(Map.of("parameters", auto.parameters() / 1_000_000, "quota", SplitRun.quotaLabel(auto.quotaMBps(), "no quota"),
                        "auto", format("%.3f", auto.stepSeconds()), "best", format("%.3f", best)));
            }
            // a fixed split skipped in a round counts with its first round
            for (int round = 0; round < rounds; round++) {
                SplitRun autoRun = SplitRun.inRound(config.get("auto"), round);
                double bestRun = Math.min(SplitRun.inRound(config.get("storage"), round).stepSeconds(),
                        SplitRun.inRound(config.get("trainer"), round).stepSeconds());
                if (autoRun.stepSeconds() <= 1.05 * bestRun) {
                    withinInRound[round]++;
                }
            }
        }
        double percent = 100.0 * autoWithin / configurations;
        scope.put("autoWithin", autoWithin);
        scope.put("configurations", configurations);
        scope.put("autoWithinPercent", format("%.0f", percent));
        scope.put("autoVerdict", verdict(percent >= 85));
        scope.put("misses", misses);
        scope.put("anyMiss", !misses.isEmpty());
        if (rounds > 1) {
            int total = configurations;
            scope.put("perRound", Arrays.stream(withinInRound).mapToObj(n -> n + " of " + total).collect(Collectors.joining(", ")));
        }
    }

    /** {@code auto} against {@code storage} on the largest model at the slowest quota. */
    private static void splitSpeedup(Map<String, Object> scope, List<SplitRun> splits) {
        long largest = splits.stream().mapToLong(SplitRun::parameters).max().orElse(0);
        double slowest = splits.stream().filter(r -> r.quotaMBps() > 0).mapToDouble(SplitRun::quotaMBps).min().orElse(0);
        SplitRun storage = SplitRun.median(SplitRun.runsOf(splits, largest, slowest, "storage"));
        SplitRun auto = SplitRun.median(SplitRun.runsOf(splits, largest, slowest, "auto"));
        if (storage != null && auto != null) {
            double speedup = storage.stepSeconds() / auto.stepSeconds();
            scope.put("speedup", Map.of("quota", format("%.0f", slowest), "parameters", largest / 1_000_000, "speedup", format("%.1f", speedup),
                    "verdict", largest >= 50_000_000 ? verdict(speedup >= 5) : "not measured at 50M in this run"));
        }
    }

    private static void restore(Map<String, Object> scope, RestoreRun restore) {
        Map<String, Object> values = new HashMap<>();
        values.put("parameters", format("%,d", restore.parameters()));
        values.put("steps", restore.steps());
        values.put("naive", format("%.1f", restore.naiveBytes() / 1e6));
        values.put("full", format("%.1f", restore.fullBytes() / 1e6));
        values.put("fullSeconds", format("%.2f", restore.fullSeconds()));
        values.put("pushdown", format("%.1f", restore.pushdownBytes() / 1e6));
        values.put("pushdownSeconds", format("%.2f", restore.pushdownSeconds()));
        values.put("superstep", restore.superstep());
        values.put("deltas", restore.deltas());
        values.put("gain", format("%.1f", restore.pushdownGain()));
        values.put("verdict", verdict(restore.pushdownGain() >= 5));
        values.put("gainOverFull", format("%.1f", (double) restore.fullBytes() / restore.pushdownBytes()));
        scope.put("restore", values);
    }

    private static void memoryTable(Map<String, Object> scope, Map<String, List<MemoryRun>> byConfig) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (List<MemoryRun> all : byConfig.values()) {
            MemoryRun first = all.get(0);
            List<MemoryRun> done = all.stream().filter(MemoryRun::completed).toList();
            String figures = done.stream().max(Comparator.comparingLong(MemoryRun::liveHeapPeak)).map(MemoryRun::memory).orElse("");
            String failures = all.stream().filter(r -> !r.completed()).map(MemoryRun::failure).distinct().reduce((x, y) -> x + "; " + y).orElse("");
            rows.add(Map.of("budget", first.budget() ? "256 MB" : "none", "jobs", first.jobs(),
                    "completed", done.size() == all.size() ? "yes (" + done.size() + " of " + all.size() + ")" : "**" + done.size() + " of " + all.size() + "**",
                    "seconds", done.isEmpty() ? "-" : format("%.1f", median(done.stream().mapToDouble(MemoryRun::seconds).toArray())),
                    "values", done.isEmpty() ? "0" : format("%,.0f", median(done.stream().mapToDouble(MemoryRun::valuesPerSecond).toArray())),
                    "figures", failures.isEmpty() ? figures : figures.isEmpty() ? failures : failures + "; completed runs: " + figures));
        }
        scope.put("memoryRows", rows);
    }

    private static void memoryTargets(Map<String, Object> scope, List<MemoryRun> memory) {
        int most = memory.stream().filter(MemoryRun::budget).mapToInt(MemoryRun::jobs).max().orElse(0);
        boolean allBudgetDone = memory.stream().filter(MemoryRun::budget).allMatch(MemoryRun::completed);
        scope.put("mostJobs", most);
        scope.put("memoryVerdict", allBudgetDone && most >= 16 ? "met" : allBudgetDone ? "met up to " + most + " jobs (the quick run stops there)" : "**missed**");
        MemoryRun firstFailure = memory.stream().filter(r -> !r.budget() && !r.completed()).findFirst().orElse(null);
        if (firstFailure == null) {
            scope.put("mostJobsWithoutBudget", memory.stream().filter(r -> !r.budget()).mapToInt(MemoryRun::jobs).max().orElse(0));
        } else {
            scope.put("firstFailure", Map.of("jobs", firstFailure.jobs(), "failure", firstFailure.failure()));
        }
    }

    /** Median step time per configuration and split, on a log scale (they span 0.2 s to 40 s). */
    private void splitPlot(Map<String, Map<String, List<SplitRun>>> byConfig) throws IOException {
        List<String> groups = new ArrayList<>();
        Map<String, List<Double>> series = new LinkedHashMap<>();
        for (Map<String, List<SplitRun>> config : byConfig.values()) {
            SplitRun any = config.values().iterator().next().get(0);
            groups.add(format("%dM, %s", any.parameters() / 1_000_000, SplitRun.quotaLabel(any.quotaMBps(), "no quota")));
            for (String split : SPLITS) {
                series.computeIfAbsent(split, k -> new ArrayList<>()).add(SplitRun.median(config.get(split)).stepSeconds());
            }
        }
        Plots.bars("Step time per split (median of rounds; log scale)", "parameters, quota", "seconds per step", groups, series, true,
                report.toAbsolutePath().getParent().resolve("eval").resolve("hapi-split.png"));
    }

    /** Median values coded per second against concurrent jobs, with and without the budget (0: no run completed). */
    private void memoryPlot(Map<String, List<MemoryRun>> byConfig) throws IOException {
        List<String> groups = new ArrayList<>();
        Map<String, List<Double>> series = new LinkedHashMap<>();
        series.put("budget 256 MB", new ArrayList<>());
        series.put("no budget", new ArrayList<>());
        for (List<MemoryRun> all : byConfig.values()) {
            String group = all.get(0).jobs() + (all.get(0).jobs() == 1 ? " job" : " jobs");
            if (!groups.contains(group)) {
                groups.add(group);
            }
        }
        for (List<MemoryRun> all : byConfig.values()) {
            double[] done = all.stream().filter(MemoryRun::completed).mapToDouble(MemoryRun::valuesPerSecond).toArray();
            series.get(all.get(0).budget() ? "budget 256 MB" : "no budget").add(done.length == 0 ? 0 : median(done) / 1e6);
        }
        // a series that stopped at its failure point: the larger counts were not run
        series.values().forEach(values -> {
            while (values.size() < groups.size()) {
                values.add(0.0);
            }
        });
        Plots.bars("Encoder at -Xmx512m: values coded per second (0: failed or not run)", "concurrent jobs", "million values per second", groups,
                series, false, report.toAbsolutePath().getParent().resolve("eval").resolve("hapi-memory.png"));
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    private static String verdict(boolean met) {
        return met ? "met" : "**missed**";
    }

    private static String format(String format, Object... arguments) {
        return String.format(Locale.ROOT, format, arguments);
    }
}
