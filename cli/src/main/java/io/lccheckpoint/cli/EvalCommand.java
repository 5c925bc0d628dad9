package io.lccheckpoint.cli;

import io.lccheckpoint.experiments.PaperEvaluation;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code lcckpt eval}: the paper's evaluation (issue #4; see {@link PaperEvaluation}): rework cost, compression breakdown,
 * priority promotion and overhead on MLR, MF and LeNet-5; prints the tables and regenerates docs/EVALUATION.md.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, subcommands = {HapiCommand.class, AdamCommand.class},
        description = "Reproduces the paper's evaluation (rework cost, compression breakdown, priority promotion, overhead) on MLR, MF"
                + " and LeNet-5, and writes docs/EVALUATION.md with its plots.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--full", description = "10 failure points x 5 seeds per scheme and model (about an hour here); the default is --quick.")
    boolean full;

    @Option(names = "--quick", description = "2-3 failure points x 1-2 seeds per model (the default; a few minutes).")
    boolean quick;

    @Mixin
    EvalOptions options;

    @Override
    public Integer call() throws Exception {
        if (full && quick) {
            throw new ParameterException(new CommandLine(this), "--quick and --full exclude each other");
        }
        new PaperEvaluation(new PaperEvaluation.Options(full, options.dataset, options.report, options.threads)).run();
        return 0;
    }
}
