package io.lccheckpoint.cli;

import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.experiments.AdamEvaluation;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcckpt eval adam}: issue #14's evaluation with Adam (see {@link AdamEvaluation}); writes its section of docs/EVALUATION.md. */
@Command(name = "adam", mixinStandardHelpOptions = true,
        description = "LeNet-5 trained with Adam: rework and bytes per step with LC weights and a fresh optimizer, LC weights and LC moments,"
                + " and full checkpoints of both at the same bytes; writes its section of docs/EVALUATION.md.")
final class AdamCommand implements Callable<Integer> {
    @Option(names = "--full", description = "10 failure points x 5 seeds (the default: 3 x 2).")
    boolean full;

    @Option(names = "--dataset", description = "Directory of the Fashion-MNIST IDX files (default: Debian's package).")
    Path dataset = FashionMnist.DEFAULT_DIRECTORY;

    @Option(names = "--report", defaultValue = "docs/EVALUATION.md", description = "The report whose Adam section is rewritten (default ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--threads", description = "Threads for the resumed runs (default: the machine's cores); results do not depend on it.")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
        new AdamEvaluation(new AdamEvaluation.Options(full, dataset, report, threads)).run();
        return 0;
    }
}
