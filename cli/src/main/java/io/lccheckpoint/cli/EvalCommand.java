package io.lccheckpoint.cli;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.eval.CheckpointScheme;
import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.eval.FullCheckpoint;
import io.lccheckpoint.eval.LcCheckpoint;
import io.lccheckpoint.eval.ReworkExperiment;
import io.lccheckpoint.eval.SparseCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The paper's evaluation (issue #4), in progress: so far the rework cost on multinomial logistic regression with every
 * scheme at matched sizes (5% and 10% of a full checkpoint per iteration).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Reproduces the paper's rework-cost experiment (so far: logistic regression on Fashion-MNIST) with every scheme at matched sizes.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--full", description = "More failure points and seeds (slow); the default is the quick run.")
    boolean full;

    @Option(names = "--dataset", description = "Directory of the Fashion-MNIST IDX files (default: Debian's package).")
    Path dataset = FashionMnist.DEFAULT_DIRECTORY;

    @Override
    public Integer call() throws Exception {
        FashionMnist train;
        FashionMnist test;
        if (FashionMnist.available(dataset)) {
            train = FashionMnist.load(dataset, false);
            test = FashionMnist.load(dataset, true);
            say("data: Fashion-MNIST (%d training, %d test images)", train.labels().length, test.labels().length);
        } else {
            train = FashionMnist.synthetic(20_000, 1);
            test = FashionMnist.synthetic(2_000, 2);
            say("data: synthetic (install dataset-fashion-mnist for the real one)");
        }
        int[] failures = full ? new int[] {60, 90, 120, 150, 180, 210, 240, 270, 300, 330} : new int[] {97, 143, 211};
        long[] seeds = full ? new long[] {1, 2, 3, 4, 5} : new long[] {1, 2};
        ReworkExperiment experiment = new ReworkExperiment(train, test, 1000, 400);
        int parameters = FashionMnist.CLASSES * FashionMnist.PIXELS + FashionMnist.CLASSES;
        long fullBytes = 4L * parameters;

        Map<String, Supplier<CheckpointScheme>> schemes = new LinkedHashMap<>();
        for (double size : new double[] {0.05, 0.10}) {
            long budget = (long) (size * fullBytes);
            int every = (int) Math.round(1 / size);
            String tag = String.format(Locale.ROOT, " @%.0f%%", 100 * size);
            schemes.put("full every " + every + tag, () -> new FullCheckpoint(every));
            schemes.put("SCAR" + tag, () -> new SparseCheckpoint(SparseCheckpoint.Mode.SCAR, budget));
            schemes.put("TOPN" + tag, () -> new SparseCheckpoint(SparseCheckpoint.Mode.TOPN, budget));
        }
        schemes.put("LC 2-bit Huffman", () -> new LcCheckpoint("LC 2-bit Huffman", CodecOptions.paper(2), 1 << 16));
        schemes.put("LC 3-bit Huffman", () -> new LcCheckpoint("LC 3-bit Huffman", CodecOptions.paper(3), 1 << 16));
        schemes.put("LC 2-bit zero-run", () -> new LcCheckpoint("LC 2-bit zero-run", CodecOptions.zeroRun(2), 1 << 16));
        schemes.put("LC 3-bit zero-run", () -> new LcCheckpoint("LC 3-bit zero-run", CodecOptions.zeroRun(3), 1 << 16));

        say("rework cost: fail at %s, seeds %s, %d parameters; iterations to get back to the pre-failure test loss",
                java.util.Arrays.toString(failures), java.util.Arrays.toString(seeds), parameters);
        say("%-26s %14s %10s %18s", "scheme", "bytes/iter", "of full", "rework (mean ± 95% CI)");
        List<ReworkExperiment.Result> results = new ArrayList<>();
        long start = System.nanoTime();
        for (Map.Entry<String, Supplier<CheckpointScheme>> scheme : schemes.entrySet()) {
            ReworkExperiment.Result result = experiment.run(scheme.getValue(), failures, seeds);
            results.add(result);
            say("%-26s %,14.0f %9.2f%% %10.1f ± %.1f", scheme.getKey(), result.bytesPerIteration(), 100 * result.fractionOfFull(),
                    result.meanRework(), result.ci95());
        }
        say("(%.0f s; EVALUATION.md, the other models, the breakdown, promotion and overhead experiments: issue #4 continues)",
                (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static void say(String format, Object... arguments) {
        System.out.println(String.format(Locale.ROOT, format, arguments));
    }
}
