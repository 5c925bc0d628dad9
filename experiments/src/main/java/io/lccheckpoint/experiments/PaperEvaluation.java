package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.eval.CheckpointScheme;
import io.lccheckpoint.eval.CompressionBreakdown;
import io.lccheckpoint.eval.FashionMnist;
import io.lccheckpoint.eval.FullCheckpoint;
import io.lccheckpoint.eval.LcCheckpoint;
import io.lccheckpoint.eval.LeNet5;
import io.lccheckpoint.eval.LogisticRegression;
import io.lccheckpoint.eval.MatrixFactorization;
import io.lccheckpoint.eval.PromotionEffectiveness;
import io.lccheckpoint.eval.ReworkExperiment;
import io.lccheckpoint.eval.SparseCheckpoint;
import io.lccheckpoint.eval.Trainer;
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

/**
 * The paper's evaluation (issue #4): rework cost with every scheme at matched sizes, the compression breakdown, the
 * priority-promotion check, the failure case study and the overhead through the real pipeline
 * ({@link OverheadExperiment}), on logistic regression and LeNet-5 (Fashion-MNIST) and matrix factorization (synthetic).
 * Prints the tables and regenerates docs/EVALUATION.md ({@link EvalReport}), keeping the sections other commands wrote.
 */
public final class PaperEvaluation {
    /** {@code full}: 10 failure points x 5 seeds (else the quick run); the dataset's directory, the report, threads for the resumed runs. */
    public record Options(boolean full, Path dataset, Path report, int threads) {
    }

    private final boolean full;
    private final Path dataset;
    private final Path report;
    private final int threads;

    public PaperEvaluation(Options options) {
        this.full = options.full();
        this.dataset = options.dataset();
        this.report = options.report();
        this.threads = options.threads();
    }

    /** A model of the evaluation: how to make one per seed, where it fails, and how long a rework may run. */
    record Model(String name, String description, LongFunction<Trainer> factory, int[] failures, long[] seeds, int cap,
                 String[] tensors, int[] offsets) {
    }

    public void run() throws Exception {
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
        List<Model> models = models(train, test);
        Map<String, List<ReworkExperiment.Result>> results = new LinkedHashMap<>();
        Map<String, List<CompressionBreakdown.Row>> breakdowns = new LinkedHashMap<>();
        for (Model model : models) {
            long modelStart = System.nanoTime();
            int parameters = model.factory().apply(0).parameters().length;
            ReworkExperiment experiment = new ReworkExperiment(model.factory(), model.cap(), threads);
            say("");
            say("%s, %d parameters: rework after failing at %s, seeds %s (iterations back to the pre-failure evaluation loss, cap %d)",
                    model.name(), parameters, Arrays.toString(model.failures()), Arrays.toString(model.seeds()), model.cap());
            say("%-26s %14s %10s %24s %8s", "scheme", "bytes/iter", "of full", "rework (mean ± 95% CI)", "capped");
            Map<String, Supplier<CheckpointScheme>> schemes = schemes(4L * parameters);
            List<ReworkExperiment.Result> modelResults = new ArrayList<>();
            List<String> labels = new ArrayList<>(schemes.keySet());
            List<ReworkExperiment.Result> raw = experiment.runAll(new ArrayList<>(schemes.values()), model.failures(), model.seeds());
            for (int i = 0; i < raw.size(); i++) {
                ReworkExperiment.Result r = raw.get(i);
                ReworkExperiment.Result result = new ReworkExperiment.Result(labels.get(i), r.bytesPerIteration(), r.fractionOfFull(), r.reworks(), r.cap());
                modelResults.add(result);
                say("%-26s %,14.0f %9.2f%% %16.1f ± %5.1f %8d", result.scheme(), result.bytesPerIteration(), 100 * result.fractionOfFull(),
                        result.meanRework(), result.ci95(), result.capped());
            }
            results.put(model.name(), modelResults);
            Trainer trainer = model.factory().apply(1);
            float[] initial = trainer.parameters();
            List<float[]> run = new ArrayList<>();
            for (int t = 0; t < 300; t++) {
                trainer.step();
                run.add(trainer.parameters());
            }
            breakdowns.put(model.name(), CompressionBreakdown.measure(initial, run, new int[] {2, 3}));
            say("(%s: %.0f s)", model.name(), (System.nanoTime() - modelStart) / 1e9);
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
        List<Comparison> comparisons = compare(results);
        say("");
        say("rework of the baselines divided by LC's at a matched size (the paper: SCAR 2.88-5.77x and TOPN 2.17-4.06x at 5%%, 1.9-4.82x and 1.52-2.17x at 10%%):");
        for (Comparison c : comparisons) {
            say("%-6s %-4s %-18s vs %-18s %s", c.model(), c.size(), c.baseline(), c.lc(), c.ratioText());
        }

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
        // the failure case study (the paper's §4.5): fail at iteration 7, full checkpoints every 10 vs LC every iteration
        List<CaseStudy> studies = new ArrayList<>();
        for (Model m : models) {
            if (m.tensors() == null) {
                continue;
            }
            ReworkExperiment study = new ReworkExperiment(m.factory(), m.cap(), threads);
            List<ReworkExperiment.Result> outcome = study.runAll(List.of(() -> new FullCheckpoint(10),
                    () -> new LcCheckpoint("LC 2-bit zero-run", CodecOptions.zeroRun(2), 1 << 16)), new int[] {7}, new long[] {1, 2, 3, 4, 5});
            CaseStudy caseStudy = new CaseStudy(m.name(), outcome.get(0), outcome.get(1), stepMillis(m.factory().apply(9)));
            studies.add(caseStudy);
            say("");
            say("failure case study (%s, fail at iteration 7, 5 seeds): rework %.1f iterations with full checkpoints every 10, %.1f with"
                    + " LC every iteration; %.1f iterations = %.2f s saved at %.1f ms per iteration",
                    m.name(), caseStudy.full().meanRework(), caseStudy.lc().meanRework(), caseStudy.savedIterations(), caseStudy.savedSeconds(),
                    caseStudy.stepMillis());
        }

        List<OverheadExperiment.Overhead> overheads = new ArrayList<>();
        for (Model m : models) {
            if (m.tensors() == null) {
                continue;
            }
            OverheadExperiment.Overhead overhead = OverheadExperiment.run(m, m.name().equals("MLR") ? 600 : 250);
            overheads.add(overhead);
            say("");
            say("overhead through the real pipeline (%s, %d steps, embedded broker + encoder): %.3f ms per step without checkpoints,"
                    + " %.3f ms with every-step checkpoints (%+.1f%%); the trainer thread's CPU %.3f -> %.3f ms (%+.1f%%); publish() blocked"
                    + " %.3f ms per step (%.2f%% of the step)",
                    m.name(), overhead.steps(), overhead.plainMillis(), overhead.checkpointedMillis(), overhead.overheadPercent(),
                    overhead.plainCpuMillis(), overhead.checkpointedCpuMillis(), overhead.cpuOverheadPercent(),
                    overhead.blockedMillis(), overhead.blockedPercent());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        say("(%.0f s)", seconds);
        new EvalReport(report, full).write(models, results, breakdowns, comparisons, promotion, realData, studies, overheads, seconds);
    }

    private List<Model> models(FashionMnist train, FashionMnist test) {
        MatrixFactorization.Ratings ratings = MatrixFactorization.Ratings.synthetic(400, 300, 10, 0.2, 0.1, 7);
        long[] fiveSeeds = {1, 2, 3, 4, 5};
        List<Model> models = new ArrayList<>();
        models.add(new Model("MLR", "multinomial logistic regression on Fashion-MNIST (7,850 parameters, minibatch 64, learning rate 0.05,"
                + " evaluation loss on 1,000 test images)",
                seed -> new LogisticRegression(train, seed, ReworkExperiment.BATCH, ReworkExperiment.LEARNING_RATE).evaluatingOn(test, 1000),
                full ? failurePoints(57, 30) : new int[] {97, 143, 211},
                full ? fiveSeeds : new long[] {1, 2}, 400, new String[] {"weight", "bias"}, new int[] {0, 7840, 7850}));
        models.add(new Model("MF", "matrix factorization of a synthetic 400x300 rating matrix (true rank 10 with N(0, 10^-1/4) factors, 20%"
                + " observed, noise 0.1, seed 7; each rating held out with probability 0.1); rank 10, 7,000 parameters, minibatch 64,"
                + " learning rate 0.05, initial factors N(0, 0.3); evaluation: held-out mean squared error. Failures fall between"
                + " iterations 800 and 2,600, where the loss falls steadily",
                seed -> new MatrixFactorization(ratings, 10, seed, 64, 0.05f, 0.001f),
                full ? failurePoints(800, 200) : new int[] {913, 1507, 2111},
                full ? fiveSeeds : new long[] {1, 2}, 400, null, null));
        models.add(new Model("LeNet-5", "LeNet-5 on Fashion-MNIST (61,706 parameters: conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, 10;"
                + " ReLU, max-pooling, minibatch 32, learning rate 0.02, evaluation loss on 200 test images)",
                seed -> new LeNet5(train, seed, 32, 0.02f).evaluatingOn(test, 200),
                full ? failurePoints(30, 28) : new int[] {67, 143, 211},
                full ? fiveSeeds : new long[] {1, 2}, 100, LeNet5.TENSORS, LeNet5.OFFSETS));
        return models;
    }

    /** Offsets that spread failure points over every residue of the full-checkpoint intervals (10 and 20), so that no interval is favoured. */
    private static final int[] OFFSETS = {3, 17, 9, 12, 6, 19, 1, 14, 8, 11};

    /** Ten failure points from {@code base}, {@code gap} apart, each moved by its offset. */
    static int[] failurePoints(int base, int gap) {
        int[] points = new int[OFFSETS.length];
        for (int k = 0; k < points.length; k++) {
            points[k] = base + k * gap + OFFSETS[k];
        }
        return points;
    }

    /** A baseline's mean rework over LC's at a checkpoint size. */
    record Comparison(String model, String size, String baseline, String lc, double baselineRework, double lcRework, double lcFraction) {
        String ratioText() {
            String ratio = lcRework > 0 ? String.format(Locale.ROOT, "%.2fx", baselineRework / lcRework)
                    : baselineRework > 0 ? "LC needs no rework" : "neither needs rework";
            return String.format(Locale.ROOT, "%.1f vs %.1f iterations: %s (LC at %.1f%% of a full checkpoint)", baselineRework, lcRework, ratio,
                    100 * lcFraction);
        }
    }

    /**
     * At each size, the LC Huffman configuration with the most promotion bits whose checkpoints fit it (the paper's LC at a
     * matched size) against the baselines of that size; 2-bit if none fits.
     */
    static List<Comparison> compare(Map<String, List<ReworkExperiment.Result>> results) {
        List<Comparison> comparisons = new ArrayList<>();
        results.forEach((model, list) -> {
            Map<String, ReworkExperiment.Result> byName = new LinkedHashMap<>();
            list.forEach(r -> byName.put(r.scheme(), r));
            for (double size : new double[] {0.05, 0.10}) {
                String tag = String.format(Locale.ROOT, "%.0f%%", 100 * size);
                ReworkExperiment.Result lc = byName.get("LC 2-bit Huffman");
                for (int bits = 3; bits <= 4; bits++) {
                    ReworkExperiment.Result candidate = byName.get("LC " + bits + "-bit Huffman");
                    if (candidate.fractionOfFull() <= size) {
                        lc = candidate;
                    }
                }
                for (String baseline : new String[] {"SCAR", "TOPN", "full every " + Math.round(1 / size)}) {
                    ReworkExperiment.Result b = byName.get(baseline + " @" + tag);
                    comparisons.add(new Comparison(model, tag, b.scheme(), lc.scheme(), b.meanRework(), lc.meanRework(), lc.fractionOfFull()));
                }
            }
        });
        return comparisons;
    }

    /** Fail at iteration 7: a full checkpoint every 10 iterations against LC every iteration. */
    record CaseStudy(String model, ReworkExperiment.Result full, ReworkExperiment.Result lc, double stepMillis) {
        double savedIterations() {
            return full.meanRework() - lc.meanRework();
        }

        double savedSeconds() {
            return savedIterations() * stepMillis / 1000;
        }
    }

    private static double stepMillis(Trainer trainer) {
        for (int t = 0; t < 50; t++) {
            trainer.step();
        }
        long start = System.nanoTime();
        for (int t = 0; t < 200; t++) {
            trainer.step();
        }
        return (System.nanoTime() - start) / 1e6 / 200;
    }

    static Map<String, Supplier<CheckpointScheme>> schemes(long fullBytes) {
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
        schemes.put("LC 4-bit Huffman", () -> new LcCheckpoint("LC 4-bit Huffman", CodecOptions.paper(4), 1 << 16));
        schemes.put("LC 2-bit zero-run", () -> new LcCheckpoint("LC 2-bit zero-run", CodecOptions.zeroRun(2), 1 << 16));
        schemes.put("LC 3-bit zero-run", () -> new LcCheckpoint("LC 3-bit zero-run", CodecOptions.zeroRun(3), 1 << 16));
        schemes.put("LC 4-bit zero-run", () -> new LcCheckpoint("LC 4-bit zero-run", CodecOptions.zeroRun(4), 1 << 16));
        return schemes;
    }
}
