package io.lccheckpoint.cli;

import io.lccheckpoint.experiments.HapiExperiment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code lcckpt eval hapi}: the HAPI experiment (issue #5; see {@link HapiExperiment}): split point under client quotas,
 * the encoder's memory budget, restore pushdown. Writes its section of docs/EVALUATION.md.
 */
@Command(name = "hapi", mixinStandardHelpOptions = true,
        description = "The HAPI experiment: split point under client quotas, the encoder's memory budget, restore pushdown; writes its section of docs/EVALUATION.md.")
final class HapiCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "10M parameters only, quotas 5 MB/s and unthrottled, 1-4 jobs, 300 restore steps (a few minutes).")
    boolean quick;

    @Option(names = "--report", defaultValue = "docs/EVALUATION.md", description = "The report whose HAPI section is rewritten (default ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--seconds", defaultValue = "25", description = "Minimum measured time per split configuration (default ${DEFAULT-VALUE}); throttling is bursty.")
    int seconds;

    @Option(names = "--repeat", description = "Rounds of the split and memory experiments; a configuration's figure is the median"
            + " of its rounds (default 3, 1 with --quick). Two cores shared by broker, encoder and trainer vary by tens of percent between runs.")
    Integer repeat;

    @Option(names = "--part", split = ",", description = "Only these parts: split, restore, memory (default all). The report's section is"
            + " written only when all three ran.")
    List<String> parts;

    @Override
    public Integer call() throws Exception {
        int rounds = repeat != null ? repeat : quick ? 1 : 3;
        if (rounds < 1) {
            throw new ParameterException(new CommandLine(this), "--repeat must be at least 1 (got " + rounds + ")");
        }
        List<String> selected = parts == null ? HapiExperiment.PARTS : parts;
        for (String part : selected) {
            if (!HapiExperiment.PARTS.contains(part)) {
                throw new ParameterException(new CommandLine(this), "--part: unknown part '" + part + "' (split, restore, memory)");
            }
        }
        HapiExperiment.run(new HapiExperiment.Options(quick, report, seconds, rounds, selected));
        return 0;
    }
}
