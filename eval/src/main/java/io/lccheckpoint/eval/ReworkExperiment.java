package io.lccheckpoint.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * The paper's rework cost (its Fig. 3): train with a scheme checkpointing every iteration, fail at iteration t_f,
 * restore what the scheme kept, resume (with a new data order, as a restarted job would), and count the iterations until
 * the evaluation loss is back at its value just before the failure. Works on any {@link Trainer}: the factory makes one
 * from a seed.
 *
 * <p>Checkpointing does not change training, so all schemes ride along one training run per seed: each checkpoints
 * every iteration, and at every failure point each scheme's restore starts its own resumed run. The resumed runs are
 * independent and run on a thread pool; each is a pure function of its seed and restored state, so the results do not
 * depend on the number of threads.
 */
public final class ReworkExperiment {
    public static final int BATCH = 64;
    public static final float LEARNING_RATE = 0.05f;

    /** One scheme's outcome over all failure points and seeds; reworks at {@code cap} did not recover within it. */
    public record Result(String scheme, double bytesPerIteration, double fractionOfFull, List<Integer> reworks, int cap) {
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

        /** Runs that had not recovered at the cap (their rework counts as the cap: the mean is then a lower bound). */
        public long capped() {
            return reworks.stream().filter(r -> r >= cap).count();
        }
    }

    private final LongFunction<Trainer> trainers;
    private final int maxRework;
    private final int threads;

    public ReworkExperiment(LongFunction<Trainer> trainers, int maxRework) {
        this(trainers, maxRework, Runtime.getRuntime().availableProcessors());
    }

    public ReworkExperiment(LongFunction<Trainer> trainers, int maxRework, int threads) {
        this.trainers = trainers;
        this.maxRework = maxRework;
        this.threads = threads;
    }

    /** Logistic regression on a data set, evaluated on the first {@code evaluationCount} examples of another. */
    public ReworkExperiment(FashionMnist train, FashionMnist evaluation, int evaluationCount, int maxRework) {
        this(seed -> new LogisticRegression(train, seed, BATCH, LEARNING_RATE).evaluatingOn(evaluation, evaluationCount), maxRework);
    }

    public Result run(Supplier<CheckpointScheme> scheme, int[] failurePoints, long[] seeds) {
        return runAll(List.of(scheme), failurePoints, seeds).get(0);
    }

    /** Every scheme at every failure point (ascending order not required) for every seed; results in the schemes' order. */
    public List<Result> runAll(List<Supplier<CheckpointScheme>> schemes, int[] failurePoints, long[] seeds) {
        int[] failures = failurePoints.clone();
        java.util.Arrays.sort(failures);
        int count = schemes.size();
        long[] bytes = new long[count];
        String[] names = new String[count];
        long iterations = 0;
        int parameters = 0;
        List<List<Future<Integer>>> reworks = new ArrayList<>();
        for (int s = 0; s < count; s++) {
            reworks.add(new ArrayList<>());
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (long seed : seeds) {
                Trainer model = trainers.apply(seed);
                float[] initial = model.parameters();
                parameters = initial.length;
                CheckpointScheme[] running = new CheckpointScheme[count];
                long[] written = new long[count];
                for (int s = 0; s < count; s++) {
                    running[s] = schemes.get(s).get();
                    names[s] = running[s].name();
                    running[s].start(initial);
                }
                int t = 0;
                for (int failAt : failures) {
                    while (t < failAt) {
                        model.step();
                        t++;
                        float[] state = model.parameters();
                        for (int s = 0; s < count; s++) {
                            written[s] += running[s].checkpoint(t, state);
                        }
                    }
                    iterations += failAt;
                    double target = model.evaluationLoss();
                    for (int s = 0; s < count; s++) {
                        bytes[s] += written[s];
                        float[] restored = running[s].restore();
                        int restoredIteration = running[s].restoredIteration();
                        long resumeSeed = seed * 1_000_003L + failAt;
                        reworks.get(s).add(pool.submit(() -> rework(resumeSeed, restored, restoredIteration, target)));
                    }
                }
            }
            List<Result> results = new ArrayList<>();
            for (int s = 0; s < count; s++) {
                List<Integer> values = new ArrayList<>();
                for (Future<Integer> future : reworks.get(s)) {
                    values.add(future.get());
                }
                double perIteration = (double) bytes[s] / iterations;
                results.add(new Result(names[s], perIteration, perIteration / (4.0 * parameters), values, maxRework));
            }
            return results;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a resumed run failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private int rework(long resumeSeed, float[] restored, int restoredIteration, double target) {
        Trainer resumed = trainers.apply(resumeSeed);
        resumed.resumeFrom(restored, restoredIteration);
        int rework = 0;
        while (resumed.evaluationLoss() > target && rework < maxRework) {
            resumed.step();
            rework++;
        }
        return rework;
    }
}
