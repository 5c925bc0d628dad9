package io.lccheckpoint.eval;

import java.util.SplittableRandom;

/**
 * Multinomial logistic regression trained by minibatch SGD, in plain Java and deterministic per seed: the demo's
 * trainer. Parameters are two float32 tensors, "weight" [10, 784] and "bias" [10].
 */
public final class LogisticRegression implements Trainer {
    public final float[] weight = new float[FashionMnist.CLASSES * FashionMnist.PIXELS];
    public final float[] bias = new float[FashionMnist.CLASSES];
    private final FashionMnist data;
    private final SplittableRandom random;
    private final int batch;
    private final float learningRate;

    private FashionMnist evaluation;
    private int evaluationCount;

    /** What {@link #evaluationLoss} measures: the first {@code count} examples of a set. */
    public LogisticRegression evaluatingOn(FashionMnist set, int count) {
        this.evaluation = set;
        this.evaluationCount = count;
        return this;
    }

    @Override
    public double evaluationLoss() {
        return loss(evaluation == null ? data : evaluation, evaluation == null ? 1000 : evaluationCount);
    }

    public LogisticRegression(FashionMnist data, long seed, int batch, float learningRate) {
        this.data = data;
        this.random = new SplittableRandom(seed);
        this.batch = batch;
        this.learningRate = learningRate;
        for (int i = 0; i < weight.length; i++) {
            weight[i] = (float) (random.nextGaussian() * 0.01);
        }
    }

    /** One SGD step on a random minibatch; returns its mean cross-entropy before the update. */
    @Override
    public double step() {
        int[] examples = new int[batch];
        for (int k = 0; k < batch; k++) {
            examples[k] = random.nextInt(data.labels().length);
        }
        float[] gradWeight = new float[weight.length];
        float[] gradBias = new float[bias.length];
        double loss = gradient(examples, gradWeight, gradBias);
        float scale = learningRate;
        for (int j = 0; j < weight.length; j++) {
            weight[j] -= scale * gradWeight[j];
        }
        for (int c = 0; c < bias.length; c++) {
            bias[c] -= scale * gradBias[c];
        }
        return loss;
    }

    /** Mean cross-entropy over the examples, and its gradient (averaged) into the two arrays. */
    double gradient(int[] examples, float[] gradWeight, float[] gradBias) {
        double loss = 0;
        float[] probabilities = new float[FashionMnist.CLASSES];
        float inverse = 1f / examples.length;
        for (int i : examples) {
            float[] x = data.images()[i];
            loss += forward(x, data.labels()[i], probabilities);
            for (int c = 0; c < FashionMnist.CLASSES; c++) {
                float g = (probabilities[c] - (c == data.labels()[i] ? 1 : 0)) * inverse;
                gradBias[c] += g;
                int row = c * FashionMnist.PIXELS;
                for (int p = 0; p < FashionMnist.PIXELS; p++) {
                    gradWeight[row + p] += g * x[p];
                }
            }
        }
        return loss / examples.length;
    }

    /** The parameters as one vector: weight, then bias. */
    @Override
    public float[] parameters() {
        float[] all = new float[weight.length + bias.length];
        System.arraycopy(weight, 0, all, 0, weight.length);
        System.arraycopy(bias, 0, all, weight.length, bias.length);
        return all;
    }

    @Override
    public void setParameters(float[] all) {
        System.arraycopy(all, 0, weight, 0, weight.length);
        System.arraycopy(all, weight.length, bias, 0, bias.length);
    }

    /** Mean cross-entropy of the current parameters over the first {@code count} examples of a set. */
    public double loss(FashionMnist set, int count) {
        return loss(weight, bias, set, count);
    }

    /** Mean cross-entropy over the first {@code count} examples of a set, with given parameters. */
    public static double loss(float[] weight, float[] bias, FashionMnist set, int count) {
        double total = 0;
        float[] probabilities = new float[FashionMnist.CLASSES];
        int n = Math.min(count, set.labels().length);
        for (int i = 0; i < n; i++) {
            total += forward(weight, bias, set.images()[i], set.labels()[i], probabilities);
        }
        return total / n;
    }

    private double forward(float[] x, int label, float[] probabilities) {
        return forward(weight, bias, x, label, probabilities);
    }

    private static double forward(float[] weight, float[] bias, float[] x, int label, float[] probabilities) {
        double max = Double.NEGATIVE_INFINITY;
        double[] logits = new double[FashionMnist.CLASSES];
        for (int c = 0; c < FashionMnist.CLASSES; c++) {
            double z = bias[c];
            int row = c * FashionMnist.PIXELS;
            for (int p = 0; p < FashionMnist.PIXELS; p++) {
                z += weight[row + p] * x[p];
            }
            logits[c] = z;
            max = Math.max(max, z);
        }
        double sum = 0;
        for (int c = 0; c < FashionMnist.CLASSES; c++) {
            logits[c] = Math.exp(logits[c] - max);
            sum += logits[c];
        }
        for (int c = 0; c < FashionMnist.CLASSES; c++) {
            probabilities[c] = (float) (logits[c] / sum);
        }
        return -Math.log(Math.max(1e-12, logits[label] / sum));
    }

    public void load(float[] weight, float[] bias) {
        System.arraycopy(weight, 0, this.weight, 0, this.weight.length);
        System.arraycopy(bias, 0, this.bias, 0, this.bias.length);
    }
}
