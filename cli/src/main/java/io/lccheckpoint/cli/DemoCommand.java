package io.lccheckpoint.cli;

import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.experiments.Demo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcckpt demo}, the embedded default (DESIGN.md §7; see {@link Demo}): a real KRaft broker on 127.0.0.1, the
 * encoder and a pure-Java trainer checkpointing every step; the trainer crashes, the latest complete step is restored,
 * training resumes, and the figures are printed.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Runs broker, encoder and a demo trainer; crashes the trainer, restores, resumes, and prints the figures.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--steps", defaultValue = "400", description = "Training steps in all (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--crash-at", defaultValue = "237", description = "Step after which the trainer dies (default ${DEFAULT-VALUE}).")
    int crashAt;

    @Option(names = "--step-millis", defaultValue = "40", description = "Pace each training step to at least this long (default"
            + " ${DEFAULT-VALUE} ms). A step of this small model takes ~4 ms in Java; real training steps take 100 ms or more, and"
            + " how many uncommitted steps a crash loses depends on that ratio.")
    int stepMillis;

    @Option(names = "--full-every", defaultValue = "50", description = "Interval of the full-checkpoint baseline we compare with (default ${DEFAULT-VALUE}).")
    int fullEvery;

    @Option(names = "--superstep-policy", defaultValue = "bytes", description = "bytes (a chunk's superstep once its coded bytes reach twice"
            + " a superstep's size) or steps (every --superstep-interval steps) (default ${DEFAULT-VALUE}).")
    String superstepPolicy;

    @Option(names = "--superstep-interval", defaultValue = "50", description = "Steps between supersteps with --superstep-policy steps; with bytes,"
            + " the most steps a rebuild replays (default ${DEFAULT-VALUE}).")
    int superstepInterval;

    @Option(names = "--promotion-bits", defaultValue = "2", description = "Priority promotion bits (default ${DEFAULT-VALUE}).")
    int promotionBits;

    @Option(names = "--dataset", description = "Directory of the Fashion-MNIST IDX files (default: Debian's package, synthetic data without it).")
    Path dataset = FashionMnist.DEFAULT_DIRECTORY;

    @Option(names = "--out", defaultValue = "lcckpt-demo-out", description = "Where the restored model goes (default ${DEFAULT-VALUE}).")
    Path out;


    @Override
    public Integer call() throws Exception {
        new Demo(new Demo.Options(steps, crashAt, stepMillis, fullEvery, superstepPolicy, superstepInterval, promotionBits, dataset, out)).run();
        return 0;
    }
}
