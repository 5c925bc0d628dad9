package io.lccheckpoint.cli;

import io.lccheckpoint.experiments.PipelineBenchmark;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcckpt bench}: the pipeline benchmark of issue #3 on a local broker (see {@link PipelineBenchmark}): encoder
 * throughput against Kafka's own produce throughput, checkpoint and broker bytes per step, restore against a raw read,
 * recovery after SIGKILL. Its child JVMs run this program's {@code encoder} and {@code restore} commands.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measures the pipeline on a local broker: encoder throughput vs Kafka's"
        + " own produce throughput, checkpoint bytes per step, restore time vs a raw read of the same bytes.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--encode-params", defaultValue = "10000000", description = "Model size for the throughput run (default ${DEFAULT-VALUE}).")
    int encodeParams;

    @Option(names = "--encode-steps", defaultValue = "20", description = "Steps for the throughput run (default ${DEFAULT-VALUE}).")
    int encodeSteps;

    @Option(names = "--restore-params", defaultValue = "100000000", description = "Model size for the restore run (default ${DEFAULT-VALUE}).")
    int restoreParams;

    @Option(names = "--restore-steps", defaultValue = "5", description = "Delta steps after the superstep in the restore run (default ${DEFAULT-VALUE}).")
    int restoreSteps;

    @Option(names = "--stream-threads", defaultValue = "2", description = "Encoder stream threads (default ${DEFAULT-VALUE}).")
    int streamThreads;

    @Option(names = "--state-store", defaultValue = "rocksdb", description = "Encoder state store: rocksdb or memory (default ${DEFAULT-VALUE}).")
    String stateStore;

    @Option(names = "--split", defaultValue = "both", description = "Where the codec runs: storage (the encoder), trainer (the producer) or both,"
            + " one after the other (default ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--recovery-params", defaultValue = "200000", description = "Model size for the recovery run: the encoder in a child JVM"
            + " is killed (SIGKILL) mid-run and restarted at once; 0 skips it (default ${DEFAULT-VALUE}).")
    int recoveryParams;

    @Option(names = "--json", description = "Also write the figures, per split, as one JSON object to this file.")
    Path json;


    @Override
    public Integer call() throws Exception {
        new PipelineBenchmark(new PipelineBenchmark.Options(encodeParams, encodeSteps, restoreParams, restoreSteps, streamThreads, stateStore, split,
                recoveryParams, json, Lcckpt.class.getName())).run();
        return 0;
    }
}
