package io.lccheckpoint.cli;

import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.restorer.SafetensorsWriter;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lcckpt restore --job J [--generation G] [--step N | --latest] --out model.safetensors} (DESIGN.md §5). */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = "Rebuilds a complete step of a job into safetensors (readable by PyTorch) plus a JSON summary next to it.")
final class RestoreCommand implements Callable<Integer> {
    @Option(names = "--job", required = true, description = "The training job.")
    String job;

    @ArgGroup(exclusive = true)
    Which which = new Which();

    static final class Which {
        @Option(names = "--step", description = "The step to restore (must be complete and retained).")
        Long step;

        @Option(names = "--latest", description = "The latest restorable step (the default); newer complete steps that cannot be rebuilt"
                + " are passed over and named.")
        boolean latest;
    }

    @Option(names = "--generation", description = "Restore from this generation (a resumed run starts a new one; `lcckpt steps` lists them):"
            + " its --step, or its latest restorable step. Default: the newest generation holding the step.")
    Long generation;

    @Option(names = "--out", required = true, description = "The safetensors file to write; the summary goes to <out>.json.")
    Path out;

    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Override
    public Integer call() throws Exception {
        Restorer restorer;
        try {
            restorer = new Restorer(kafka.settings());
        } catch (org.apache.kafka.common.config.ConfigException e) {
            // a bad setting is named in one line, as a restore that cannot return its step is
            System.err.println("lcckpt restore: " + e.getMessage());
            return 2;
        }
        boolean terminal = System.console() != null;
        String[] lastPhase = {""};
        Restorer.Progress progress = (phase, done, total) -> {
            if (terminal) {
                System.err.printf("\r%-60s %5.1f%%", phase, total == 0 ? 100.0 : 100.0 * done / total);
            } else if (!phase.equals(lastPhase[0])) {
                // in a log: each phase once (which topic is read, a fallback to the whole topic)
                lastPhase[0] = phase;
                System.err.println("lcckpt restore: " + phase);
            }
        };
        RestoredState state;
        try {
            state = restorer.restore(job, generation == null ? OptionalLong.empty() : OptionalLong.of(generation),
                    which.step == null ? OptionalLong.empty() : OptionalLong.of(which.step), progress);
        } catch (RestoreException e) {
            // a restore that cannot return the step says why, once, without a stack trace
            System.err.println((terminal ? "\n" : "") + "lcckpt restore: " + e.getMessage());
            return 1;
        }
        if (terminal) {
            System.err.println();
        }
        state.passedOver().forEach(note -> System.err.println("lcckpt restore: passed over " + note));
        SafetensorsWriter.write(state, out);
        Path summary = out.resolveSibling(out.getFileName() + ".json");
        SafetensorsWriter.writeSummary(state, summary);
        System.out.printf("restored job %s step %d (generation %d) from superstep %d + %d deltas: %d records, %,d bytes read in %d ms -> %s, %s%n",
                state.job(), state.step(), state.generation(), state.superstep(), state.deltasApplied(), state.recordsRead(), state.bytesRead(),
                state.elapsed().toMillis(), out, summary);
        return 0;
    }
}
