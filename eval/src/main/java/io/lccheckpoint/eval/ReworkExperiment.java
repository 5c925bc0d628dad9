package io.lccheckpoint.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The paper's rework cost (its Fig. 3) on multinomial logistic regression: train with a scheme checkpointing every
 * iteration, fail at iteration t_f, restore what the scheme kept, resume (with a new data order, as a restarted job
 * would), and count the iterations until the evaluation loss is back at its value just before the failure.
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

    private final FashionMnist train;
    private final FashionMnist evaluation;
    private final int evaluationCount;
    private final int maxRework;

    public ReworkExperiment(FashionMnist train, FashionMnist evaluation, int evaluationCount, int maxRework) {
        this.train = train;
        this.evaluation = evaluation;
        this.evaluationCount = evaluationCount;
        this.maxRework = maxRework;
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
                LogisticRegression model = new LogisticRegression(train, seed, BATCH, LEARNING_RATE);
                parameters = model.parameters().length;
                scheme.start(model.parameters());
                for (int t = 1; t <= failAt; t++) {
                    model.step();
                    bytes += scheme.checkpoint(t, model.parameters());
                }
                iterations += failAt;
                double target = model.loss(evaluation, evaluationCount);
                LogisticRegression resumed = new LogisticRegression(train, seed * 1_000_003L + failAt, BATCH, LEARNING_RATE);
                resumed.setParameters(scheme.restore());
                int rework = 0;
                while (resumed.loss(evaluation, evaluationCount) > target && rework < maxRework) {
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
