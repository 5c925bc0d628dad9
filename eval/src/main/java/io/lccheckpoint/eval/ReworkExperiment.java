package io.lccheckpoint.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The paper's rework cost (its Fig. 3): train with a scheme checkpointing every iteration, fail at iteration t_f,
 * restore what the scheme kept, resume (with a new data order, as a restarted job would), and count the iterations until
 * the evaluation loss is back at its value just before the failure. Works on any {@link Trainer}: the factory makes one
 * from a seed.
 */
public final class ReworkExperiment {
    public static final int BATCH = 64;
    public static final float LEARNING_RATE = 0.05f;

    /** One scheme's outcome over all failure points and seeds. */
    public record Result(String scheme, double bytesPerIteration, double fractionOfFull, List<Integer> reworks) {
        public double meanRework() {
            return reworks.stream().mapToInt(Integer::intValue).average().orElse(Double.NaN);
        }

        /** Half-width of the 95% confidence interval of the mean (normal approximation). */
        public double ci95() {
            int n = reworks.size();
            if (n < 2) {
                return Double.NaN;
            }
            double mean = meanRework();
            double variance = reworks.stream().mapToDouble(r -> (r - mean) * (r - mean)).sum() / (n - 1);
            return 1.96 * Math.sqrt(variance / n);
        }
    }

    private final java.util.function.LongFunction<Trainer> trainers;
    private final int maxRework;

    public ReworkExperiment(java.util.function.LongFunction<Trainer> trainers, int maxRework) {
        this.trainers = trainers;
        this.maxRework = maxRework;
    }

    /** Logistic regression on a data set, evaluated on the first {@code evaluationCount} examples of another. */
    public ReworkExperiment(FashionMnist train, FashionMnist evaluation, int evaluationCount, int maxRework) {
        this(seed -> new LogisticRegression(train, seed, BATCH, LEARNING_RATE).evaluatingOn(evaluation, evaluationCount), maxRework);
    }

    public Result run(Supplier<CheckpointScheme> schemes, int[] failurePoints, long[] seeds) {
        List<Integer> reworks = new ArrayList<>();
        long bytes = 0;
        long iterations = 0;
        int parameters = 0;
        String name = null;
        for (long seed : seeds) {
            for (int failAt : failurePoints) {
                CheckpointScheme scheme = schemes.get();
                name = scheme.name();
                Trainer model = trainers.apply(seed);
                parameters = model.parameters().length;
                scheme.start(model.parameters());
                for (int t = 1; t <= failAt; t++) {
                    model.step();
                    bytes += scheme.checkpoint(t, model.parameters());
                }
                iterations += failAt;
                double target = model.evaluationLoss();
                Trainer resumed = trainers.apply(seed * 1_000_003L + failAt);
                resumed.setParameters(scheme.restore());
                int rework = 0;
                while (resumed.evaluationLoss() > target && rework < maxRework) {
                    resumed.step();
                    rework++;
                }
                reworks.add(rework);
            }
        }
        double perIteration = (double) bytes / iterations;
        return new Result(name, perIteration, perIteration / (4.0 * parameters), reworks);
    }
}
