package io.lccheckpoint.eval;

import java.util.SplittableRandom;

/**
 * Matrix factorization by SGD on a synthetic rating matrix (MovieLens and Jester are not available here). The generator,
 * deterministic per seed: true factors {@code P (users × rank)} and {@code Q (items × rank)} with N(0, rank^-1/4)
 * entries (so ratings have unit variance), ratings {@code P·Qᵀ + N(0, noise)}, of which a fraction {@code observed} is kept (uniformly at random); each kept
 * one is held out for evaluation with probability 0.1. The model learns {@code U (users × rank)} and {@code V (items × rank)};
 * parameters are U then V.
 */
public final class MatrixFactorization implements Trainer {
    /** The data: observed (user, item, rating) triples, split into training and held-out. */
    public record Ratings(int users, int items, int[] trainUser, int[] trainItem, float[] trainRating,
                          int[] testUser, int[] testItem, float[] testRating) {

        public static Ratings synthetic(int users, int items, int rank, double observed, double noise, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            double scale = Math.pow(rank, -0.25);
            double[][] p = new double[users][rank];
            double[][] q = new double[items][rank];
            for (double[] row : p) {
                for (int k = 0; k < rank; k++) {
                    row[k] = random.nextGaussian() * scale;
                }
            }
            for (double[] row : q) {
                for (int k = 0; k < rank; k++) {
                    row[k] = random.nextGaussian() * scale;
                }
            }
            int capacity = (int) (users * (long) items * observed * 1.2) + 16;
            int[] user = new int[capacity];
            int[] item = new int[capacity];
            float[] rating = new float[capacity];
            int count = 0;
            for (int u = 0; u < users; u++) {
                for (int i = 0; i < items; i++) {
                    if (random.nextDouble() < observed && count < capacity) {
                        double r = 0;
                        for (int k = 0; k < rank; k++) {
                            r += p[u][k] * q[i][k];
                        }
                        user[count] = u;
                        item[count] = i;
                        rating[count] = (float) (r + noise * random.nextGaussian());
                        count++;
                    }
                }
            }
            // held-out ratings drawn at random (not the last ones generated: those would be whole users never trained)
            boolean[] held = new boolean[count];
            int test = 0;
            for (int j = 0; j < count; j++) {
                held[j] = random.nextDouble() < 0.1;
                test += held[j] ? 1 : 0;
            }
            int[] trainUser = new int[count - test];
            int[] trainItem = new int[count - test];
            float[] trainRating = new float[count - test];
            int[] testUser = new int[test];
            int[] testItem = new int[test];
            float[] testRating = new float[test];
            int a = 0;
            int b = 0;
            for (int j = 0; j < count; j++) {
                if (held[j]) {
                    testUser[b] = user[j];
                    testItem[b] = item[j];
                    testRating[b++] = rating[j];
                } else {
                    trainUser[a] = user[j];
                    trainItem[a] = item[j];
                    trainRating[a++] = rating[j];
                }
            }
            return new Ratings(users, items, trainUser, trainItem, trainRating, testUser, testItem, testRating);
        }
    }

    /** Standard deviation of the initial factors: large enough that SGD does not sit at the saddle near zero (0.1 sat there for ~1,000 iterations). */
    static final double INIT = 0.3;
    private final Ratings data;
    private final int rank;
    private final float[] u;
    private final float[] v;
    private final SplittableRandom random;
    private final int batch;
    private final float learningRate;
    private final float regularization;

    public MatrixFactorization(Ratings data, int rank, long seed, int batch, float learningRate, float regularization) {
        this.data = data;
        this.rank = rank;
        this.random = new SplittableRandom(seed);
        this.batch = batch;
        this.learningRate = learningRate;
        this.regularization = regularization;
        this.u = new float[data.users() * rank];
        this.v = new float[data.items() * rank];
        for (int k = 0; k < u.length; k++) {
            u[k] = (float) (random.nextGaussian() * INIT);
        }
        for (int k = 0; k < v.length; k++) {
            v[k] = (float) (random.nextGaussian() * INIT);
        }
    }

    @Override
    public double step() {
        double loss = 0;
        for (int b = 0; b < batch; b++) {
            int j = random.nextInt(data.trainRating().length);
            int ru = data.trainUser()[j] * rank;
            int ri = data.trainItem()[j] * rank;
            float error = predict(ru, ri) - data.trainRating()[j];
            loss += error * error;
            for (int k = 0; k < rank; k++) {
                float uk = u[ru + k];
                float vk = v[ri + k];
                u[ru + k] -= learningRate * (error * vk + regularization * uk);
                v[ri + k] -= learningRate * (error * uk + regularization * vk);
            }
        }
        return loss / batch;
    }

    private float predict(int userRow, int itemRow) {
        float sum = 0;
        for (int k = 0; k < rank; k++) {
            sum += u[userRow + k] * v[itemRow + k];
        }
        return sum;
    }

    /** Mean squared error on the held-out ratings. */
    @Override
    public double evaluationLoss() {
        double sum = 0;
        int n = data.testRating().length;
        for (int j = 0; j < n; j++) {
            float error = predict(data.testUser()[j] * rank, data.testItem()[j] * rank) - data.testRating()[j];
            sum += error * error;
        }
        return sum / n;
    }

    /** Mean squared error on the training ratings. */
    public double trainingLoss() {
        double sum = 0;
        int n = data.trainRating().length;
        for (int j = 0; j < n; j++) {
            float error = predict(data.trainUser()[j] * rank, data.trainItem()[j] * rank) - data.trainRating()[j];
            sum += error * error;
        }
        return sum / n;
    }

    @Override
    public float[] parameters() {
        float[] all = new float[u.length + v.length];
        System.arraycopy(u, 0, all, 0, u.length);
        System.arraycopy(v, 0, all, u.length, v.length);
        return all;
    }

    @Override
    public void setParameters(float[] all) {
        System.arraycopy(all, 0, u, 0, u.length);
        System.arraycopy(all, u.length, v, 0, v.length);
    }
}
