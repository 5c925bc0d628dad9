package io.lccheckpoint.cli;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.eval.CheckpointScheme;
import io.lccheckpoint.eval.CompressionBreakdown;
import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.eval.FullCheckpoint;
import io.lccheckpoint.eval.LcCheckpoint;
import io.lccheckpoint.eval.LogisticRegression;
import io.lccheckpoint.eval.MatrixFactorization;
import io.lccheckpoint.eval.Plots;
import io.lccheckpoint.eval.PromotionEffectiveness;
import io.lccheckpoint.eval.ReworkExperiment;
import io.lccheckpoint.eval.SparseCheckpoint;
import io.lccheckpoint.eval.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.LongFunction;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The paper's evaluation (issue #4), in progress: rework cost with every scheme at matched sizes, the compression
 * breakdown, and the priority-promotion check, on logistic regression (Fashion-MNIST) and matrix factorization
 * (synthetic). Prints the tables and regenerates docs/EVALUATION.md.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Reproduces the paper's evaluation (so far: rework cost, compression breakdown, priority promotion) and writes docs/EVALUATION.md.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--full", description = "10 failure points x 5 seeds per scheme (slow); the default is the quick run.")
    boolean full;

    @Option(names = "--dataset", description = "Directory of the Fashion-MNIST IDX files (default: Debian's package).")
    Path dataset = FashionMnist.DEFAULT_DIRECTORY;

    @Option(names = "--report", defaultValue = "docs/EVALUATION.md", description = "Where the report goes (default ${DEFAULT-VALUE}).")
    Path report;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        FashionMnist train;
        FashionMnist test;
        boolean realData = FashionMnist.available(dataset);
        if (realData) {
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
        MatrixFactorization.Ratings ratings = MatrixFactorization.Ratings.synthetic(400, 300, 10, 0.2, 0.1, 7);
        Map<String, LongFunction<Trainer>> models = new LinkedHashMap<>();
        models.put("MLR", seed -> new LogisticRegression(train, seed, ReworkExperiment.BATCH, ReworkExperiment.LEARNING_RATE).evaluatingOn(test, 1000));
        models.put("MF", seed -> new MatrixFactorization(ratings, 10, seed, 64, 0.05f, 0.001f));

        Map<String, List<ReworkExperiment.Result>> results = new LinkedHashMap<>();
        Map<String, List<CompressionBreakdown.Row>> breakdowns = new LinkedHashMap<>();
        for (Map.Entry<String, LongFunction<Trainer>> model : models.entrySet()) {
            int parameters = model.getValue().apply(0).parameters().length;
            ReworkExperiment experiment = new ReworkExperiment(model.getValue(), 400);
            say("");
            say("%s, %d parameters: rework after failing at %s, seeds %s (iterations back to the pre-failure evaluation loss)",
                    model.getKey(), parameters, Arrays.toString(failures), Arrays.toString(seeds));
            say("%-26s %14s %10s %18s", "scheme", "bytes/iter", "of full", "rework (mean ± 95% CI)");
            List<ReworkExperiment.Result> modelResults = new ArrayList<>();
            for (Map.Entry<String, Supplier<CheckpointScheme>> scheme : schemes(4L * parameters).entrySet()) {
                ReworkExperiment.Result result = experiment.run(scheme.getValue(), failures, seeds);
                modelResults.add(result);
                say("%-26s %,14.0f %9.2f%% %10.1f ± %.1f", scheme.getKey(), result.bytesPerIteration(), 100 * result.fractionOfFull(),
                        result.meanRework(), result.ci95());
            }
            results.put(model.getKey(), modelResults);
            Trainer trainer = model.getValue().apply(1);
            float[] initial = trainer.parameters();
            List<float[]> run = new ArrayList<>();
            for (int t = 0; t < 300; t++) {
                trainer.step();
                run.add(trainer.parameters());
            }
            breakdowns.put(model.getKey(), CompressionBreakdown.measure(initial, run, new int[] {2, 3}));
        }

        say("");
        say("compression breakdown (ratio to float32 over 300 iterations of deltas, error feedback on):");
        say("%-6s %-5s %8s %8s %10s %16s %12s", "model", "bits", "E", "E+P", "E+P+H", "zero-run (ours)", "zero bucket");
        breakdowns.forEach((name, rows) -> {
            for (CompressionBreakdown.Row row : rows) {
                say("%-6s %-5d %7.1fx %7.1fx %9.1fx %15.1fx %11.1f%%", name, row.promotionBits(), row.ratioE(), row.ratioEP(), row.ratioEPH(),
                        row.ratioZeroRun(), 100 * row.zeroFraction());
            }
        });

        // priority promotion (the paper's Fig. 5) on logistic regression: the delta of iterations 200..300 minus one bucket
        LogisticRegression model = new LogisticRegression(train, 1, ReworkExperiment.BATCH, ReworkExperiment.LEARNING_RATE);
        List<float[]> states = new ArrayList<>();
        for (int t = 0; t < 300; t++) {
            model.step();
            states.add(model.parameters());
        }
        List<PromotionEffectiveness.Bucket> promotion = PromotionEffectiveness.measure(model, test, 1000, states.get(199), states.get(299));
        say("");
        say("priority promotion (MLR): zero one exponent bucket of the 100-iteration delta (200 -> 300), relative test-loss error:");
        say("%-10s %12s %16s", "exponent", "of values", "loss error");
        for (PromotionEffectiveness.Bucket bucket : promotion) {
            say("%-10d %11.2f%% %15.4f%%", bucket.exponent(), 100 * bucket.fraction(), 100 * bucket.relativeLossError());
        }
        say("(%.0f s; LeNet-5, the overhead experiment and the plots: issue #4 continues)", (System.nanoTime() - start) / 1e9);
        writeReport(results, breakdowns, promotion, failures, seeds, realData);
        return 0;
    }

    private static Map<String, Supplier<CheckpointScheme>> schemes(long fullBytes) {
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
        return schemes;
    }

    private void writeReport(Map<String, List<ReworkExperiment.Result>> results, Map<String, List<CompressionBreakdown.Row>> breakdowns,
                             List<PromotionEffectiveness.Bucket> promotion, int[] failures, long[] seeds, boolean realData) throws java.io.IOException {
        StringBuilder md = new StringBuilder();
        md.append("# Evaluation (regenerated by `./lcckpt eval").append(full ? " --full" : "").append("`)\n\n");
        md.append("In progress (issue #4). Models: **MLR**, multinomial logistic regression on ").append(realData ? "Fashion-MNIST" : "synthetic data")
                .append(" (7,850 parameters, minibatch 64, learning rate 0.05, evaluation loss on 1,000 test images); **MF**, matrix")
                .append(" factorization of a synthetic 400x300 rating matrix (true rank 10, 20% observed, noise 0.1, seed 7; each rating held")
                .append(" out with probability 0.1; 7,000 parameters; evaluation: held-out mean squared error). Still to come: LeNet-5,")
                .append(" overhead through the real pipeline, plots, the failure case study.\n\n");
        md.append("## Rework cost (the paper's Fig. 3)\n\n");
        md.append("Fail at iterations ").append(Arrays.toString(failures)).append(" with seeds ").append(Arrays.toString(seeds))
                .append("; restore what the scheme kept, resume with a new data order, count iterations until the evaluation loss")
                .append(" is back at its pre-failure value (cap 400). Every scheme checkpoints every iteration at the given size (full")
                .append(" checkpoints: at the interval with the same average bytes).\n\n");
        md.append("| model | scheme | of a full checkpoint per iteration | rework, mean | 95% CI | runs |\n|---|---|---:|---:|---:|---:|\n");
        results.forEach((model, list) -> {
            for (ReworkExperiment.Result result : list) {
                md.append(String.format(Locale.ROOT, "| %s | %s | %.2f%% | %.1f | ± %.1f | %d |%n", model, result.scheme(),
                        100 * result.fractionOfFull(), result.meanRework(), result.ci95(), result.reworks().size()));
            }
        });
        md.append("\n![rework](eval/rework.png)\n");
        md.append("\nThe paper: LC 2.88-5.77x less rework than SCAR and 2.17-4.06x less than TOPN at 5% (1.9-4.82x and 1.52-2.17x at 10%).\n\n");
        md.append("## Compression breakdown (the paper's Fig. 4)\n\n| model | bits | E | E+P | E+P+H | zero-run (ours) | zero bucket |\n")
                .append("|---|---|---:|---:|---:|---:|---:|\n");
        breakdowns.forEach((model, rows) -> {
            for (CompressionBreakdown.Row row : rows) {
                md.append(String.format(Locale.ROOT, "| %s | %d | %.1fx | %.1fx | %.1fx | %.1fx | %.1f%% |%n", model, row.promotionBits(),
                        row.ratioE(), row.ratioEP(), row.ratioEPH(), row.ratioZeroRun(), 100 * row.zeroFraction()));
            }
        });
        md.append("\n![breakdown](eval/breakdown.png)\n");
        md.append("\nThe paper: up to 28x (E+P+H). Targets: >= 20x at 2 bits and >= 10x at 3 bits; the zero-run mode >= 2x smaller than")
                .append(" Huffman LC.\n\n");
        md.append("## Priority promotion (the paper's Fig. 5)\n\nMLR, the delta of iterations 200 to 300 with one exponent bucket zeroed:")
                .append(" relative error of the test loss. Promotion keeps the largest exponents, which matter most.\n\n");
        md.append("| exponent | of values | relative loss error |\n|---:|---:|---:|\n");
        for (PromotionEffectiveness.Bucket bucket : promotion) {
            md.append(String.format(Locale.ROOT, "| %d | %.2f%% | %.4f%% |%n", bucket.exponent(), 100 * bucket.fraction(), 100 * bucket.relativeLossError()));
        }
        Files.createDirectories(report.toAbsolutePath().getParent());
        Path plots = report.toAbsolutePath().getParent().resolve("eval");
        Plots.rework(results, plots);
        Plots.breakdown(breakdowns, plots);
        Files.writeString(report, md.toString());
        say("report written to %s", report);
    }

    private static void say(String format, Object... arguments) {
        System.out.println(String.format(Locale.ROOT, format, arguments));
    }
}
