package io.lccheckpoint.cli;

import io.lccheckpoint.experiments.AdamEvaluation;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lcckpt eval adam}: issue #14's evaluation with Adam (see {@link AdamEvaluation}); writes its section of docs/EVALUATION.md. */
@Command(name = "adam", mixinStandardHelpOptions = true,
        description = "LeNet-5 trained with Adam: rework and bytes per step with LC weights and a fresh optimizer, LC weights and LC moments,"
                + " and full checkpoints of both at the same bytes; writes its section of docs/EVALUATION.md.")
final class AdamCommand implements Callable<Integer> {
    @Option(names = "--full", description = "10 failure points x 5 seeds (the default: 3 x 2).")
    boolean full;

    @Mixin
    EvalOptions options;

    @Override
    public Integer call() throws Exception {
        new AdamEvaluation(new AdamEvaluation.Options(full, options.dataset, options.report, options.threads)).run();
        return 0;
    }
}
