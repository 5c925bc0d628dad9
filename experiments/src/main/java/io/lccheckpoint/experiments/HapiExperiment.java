package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import io.lccheckpoint.embedded.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The HAPI experiment (issue #5) on one local broker with quota windows of a second: where the codec's stages run under a
 * slow network ({@link SplitExperiment}), restore with and without pushdown ({@link RestorePushdownExperiment}), many jobs
 * against a small encoder ({@link MemoryBudgetExperiment}). Writes its section of docs/EVALUATION.md ({@link HapiReport})
 * when all three ran.
 */
public final class HapiExperiment {
    /** The report section this experiment owns: {@code lcckpt eval} keeps it when it rewrites the report. */
    public static final String SECTION = HapiReport.SECTION;
    /** The parts, in the order they run. */
    public static final List<String> PARTS = List.of("split", "restore", "memory");

    /**
     * What to run: {@code quick} (fewer sizes, quotas and jobs), the report whose section is rewritten, the minimum seconds
     * per split configuration, the rounds of the split and memory parts, and which {@link #PARTS}.
     */
    public record Options(boolean quick, Path report, int seconds, int rounds, List<String> parts) {
    }

    private HapiExperiment() {
    }

    public static void run(Options options) throws Exception {
        long start = System.nanoTime();
        List<SplitRun> splits = new ArrayList<>();
        List<MemoryRun> memory = new ArrayList<>();
        RestoreRun restore = null;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90), Map.of("quota.window.size.seconds", "1", "quota.window.num", "4"))) {
            if (options.parts().contains("split")) {
                splits.addAll(new SplitExperiment(kafka, options.quick(), options.seconds()).run(options.rounds()));
            }
            if (options.parts().contains("restore")) {
                restore = new RestorePushdownExperiment(kafka, options.quick()).run();
            }
            if (options.parts().contains("memory")) {
                memory.addAll(new MemoryBudgetExperiment(kafka, options.quick()).run(options.rounds()));
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (options.parts().containsAll(PARTS)) {
            new HapiReport(options.report(), options.quick()).write(splits, memory, restore, elapsed, options.rounds());
        } else {
            say("only %s ran: %s not rewritten", options.parts(), options.report());
        }
    }
}
