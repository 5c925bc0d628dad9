package io.lccheckpoint.experiments;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HAPI section's arithmetic: medians of rounds, the targets judged on them, runs skipped in later rounds, failures. */
class HapiReportTest {
    @TempDir
    Path directory;

    private static SplitRun run(int round, double quota, String split, double seconds) {
        return new SplitRun(round, 10_000_000L, quota, split, 40, seconds, 0.1, 2.3e5, 0.08, split.equals("auto") ? "trainer" : split, 0);
    }

    private static MemoryRun memory(boolean budget, int jobs, boolean completed, double seconds, long heapMb) {
        return new MemoryRun(budget, jobs, completed, seconds, completed ? 1e6 * jobs / seconds : 0, completed ? null : "OutOfMemoryError in the encoder",
                completed ? "chunks in flight peak 12.7 MB of 80.5 MB, 0 waits, 0 overruns; live heap after collections peak " + heapMb + " MB of 537 MB" : "");
    }

    @Test
    void theTargetsAreJudgedOnTheMediansOfTheRounds() throws Exception {
        List<SplitRun> splits = new ArrayList<>();
        // 5 MB/s: storage hopeless after round 1 (not run again); auto's median equals the trainer split's
        splits.add(run(0, 5, "storage", 8.0));
        splits.add(run(0, 5, "trainer", 0.20));
        splits.add(run(0, 5, "auto", 0.35));
        splits.add(run(1, 5, "trainer", 0.30));
        splits.add(run(1, 5, "auto", 0.21));
        splits.add(run(2, 5, "trainer", 0.21));
        splits.add(run(2, 5, "auto", 0.20));
        // no quota: auto 25% slower than storage in every round
        for (int round = 0; round < 3; round++) {
            splits.add(run(round, 0, "storage", 0.20));
            splits.add(run(round, 0, "trainer", 0.30));
            splits.add(run(round, 0, "auto", 0.24 + 0.01 * ((round + 1) % 3)));
        }
        List<MemoryRun> memory = List.of(memory(true, 16, true, 60, 300), memory(true, 16, false, 7, 0), memory(true, 16, true, 50, 450),
                memory(false, 8, false, 6, 0), memory(false, 8, false, 6, 0), memory(false, 8, true, 30, 500));
        RestoreRun restore = new RestoreRun(1025, 1_000_000, 24_500_000, 105_700_000, 0.77, 4_600_000, 1.11, 1000, 200);
        Path report = directory.resolve("EVALUATION.md");
        Files.writeString(report, "# Evaluation\n");
        HapiReport hapiReport = new HapiReport(report, false);

        hapiReport.write(splits, memory, restore, 100, 3);

        String md = Files.readString(report);
        assertThat(md).contains("| 10M | 5 MB/s | trainer | 0.210 s | 0.200 / 0.300 / 0.210 |")
                .contains("| 10M | 5 MB/s | storage | 8.000 s | 8.000 |")
                .contains("| 10M | 5 MB/s | auto | 0.210 s | 0.350 / 0.210 / 0.200 |")
                .contains("| 10M | none | auto | 0.250 s | 0.250 / 0.260 / 0.240 |");
        assertThat(md).contains("within 5% of the best fixed split (median of its rounds) in 1 of 2 configurations (50%; target >= 85%): **missed**")
                .contains("10M at no quota: auto 0.250 s vs best 0.200 s");
        // round 1: 0.35 against 0.20 (miss); round 2: 0.21 against min(8.0 from round 1, 0.30); round 3: 0.20 against 0.21
        assertThat(md).contains("Within each round alone (one run of each split against one another): 0 of 2, 1 of 2, 1 of 2.");
        assertThat(md).contains("not measured at 50M in this run");
        // one budget run of three ran out of memory: the target is missed, and the figures are the highest live heap's
        assertThat(md).contains("| 256 MB | 16 | **2 of 3** | 55.0 |")
                .contains("OutOfMemoryError in the encoder; completed runs: chunks in flight peak 12.7 MB of 80.5 MB, 0 waits, 0 overruns;"
                        + " live heap after collections peak 450 MB")
                .contains("16 concurrent jobs complete at -Xmx512m in every run: **missed**")
                .contains("Without it, the first failure: 8 jobs (OutOfMemoryError in the encoder)")
                .contains("**5.3x fewer bytes than naive replay** (target >= 5x: met)");
        assertThat(Files.size(directory.resolve("eval").resolve("hapi-split.png"))).isPositive();
        assertThat(Files.size(directory.resolve("eval").resolve("hapi-memory.png"))).isPositive();
    }

    /** The section as the StringBuilder code wrote it before the template (issue #13): same inputs, same text. */
    @Test
    void theTemplateWritesTheSectionAsBefore() throws Exception {
        List<SplitRun> splits = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            for (long parameters : new long[] {10_000_000L, 50_000_000L}) {
                for (double quota : new double[] {5, 0}) {
                    splits.add(new SplitRun(round, parameters, quota, "storage", 40, 0.2 + round * 0.01 + quota / 10, 0.1, 2.3e5, 0.08, "storage", 0));
                    splits.add(new SplitRun(round, parameters, quota, "trainer", 40, 0.3 + round * 0.02, 0.1, 2.3e5, 0.08, "trainer", 0));
                    splits.add(new SplitRun(round, parameters, quota, "auto", 40, 0.24 + 0.01 * ((round + 1) % 3), 0.1, 2.3e5, 0.08, "trainer", 2));
                }
            }
        }
        List<MemoryRun> memory = List.of(new MemoryRun(true, 16, true, 60, 1e6, null, "live heap after collections peak 300 MB of 537 MB"),
                new MemoryRun(true, 16, false, 7, 0, "OutOfMemoryError in the encoder", ""),
                new MemoryRun(false, 8, true, 30, 2e6, null, "live heap after collections peak 400 MB"),
                new MemoryRun(false, 16, false, 30, 0, "the encoder exited (3)", ""));
        RestoreRun restore = new RestoreRun(1025, 1_000_000, 24_500_000, 105_700_000, 0.77, 4_600_000, 1.11, 1000, 200);
        Path report = directory.resolve("EVALUATION.md");
        Files.writeString(report, "# Evaluation\n");

        new HapiReport(report, true).write(splits, memory, restore, 100, 3);

        String before;
        try (var in = HapiReportTest.class.getResourceAsStream("hapi-section-before-templates.md")) {
            before = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(Files.readString(report)).isEqualTo(before.replace("CORES", String.valueOf(Runtime.getRuntime().availableProcessors())));
    }
}
