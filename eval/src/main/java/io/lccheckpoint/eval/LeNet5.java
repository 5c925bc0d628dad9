package io.lccheckpoint.eval;

import java.util.SplittableRandom;

/**
 * LeNet-5 on Fashion-MNIST in plain Java, trained by minibatch SGD or {@link Adam} and deterministic per seed (issue #4's
 * CNN; Adam for issue #14's optimizer-state experiments).
 *
 * <p>conv 5x5 (1 → 6, padding 2) · ReLU · max-pool 2 → conv 5x5 (6 → 16) · ReLU · max-pool 2 → fully connected
 * 400 → 120 · ReLU → 120 → 84 · ReLU → 84 → 10 · softmax cross-entropy. 61,706 float32 parameters in one flat vector,
 * tensor after tensor in that order (weight then bias each), He-initialised.
 *
 * <p>Scalar loops over flat arrays, no library: a step of 32 images costs about 40 million multiply-adds forward and
 * backward. Gradients are summed per example in the order of the minibatch, so a step is a pure function of the
 * parameters and the seed's data order.
 */
public final class LeNet5 implements Trainer {
    static final int C1 = 6;
    static final int C2 = 16;
    static final int K = 5;
    static final int F1 = 120;
    static final int F2 = 84;
    static final int FLAT = C2 * 5 * 5;

    // offsets into the flat parameter vector
    static final int C1W = 0;
    static final int C1B = C1W + C1 * K * K;
    static final int C2W = C1B + C1;
    static final int C2B = C2W + C2 * C1 * K * K;
    static final int F1W = C2B + C2;
    static final int F1B = F1W + F1 * FLAT;
    static final int F2W = F1B + F1;
    static final int F2B = F2W + F2 * F1;
    static final int F3W = F2B + F2;
    static final int F3B = F3W + FashionMnist.CLASSES * F2;
    public static final int PARAMETERS = F3B + FashionMnist.CLASSES;

    /** Tensor names and their offsets, for anything that wants the tensors one by one. */
    public static final String[] TENSORS = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
            "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"};
    public static final int[] OFFSETS = {C1W, C1B, C2W, C2B, F1W, F1B, F2W, F2B, F3W, F3B, PARAMETERS};

    private final float[] p = new float[PARAMETERS];
    private final FashionMnist data;
    private final SplittableRandom random;
    private final int batch;
    private final Optimizer optimizer;
    private FashionMnist evaluation;
    private int evaluationCount = 200;
    private final Activations scratch = new Activations();

    /** Trained by plain SGD at {@code learningRate}. */
    public LeNet5(FashionMnist data, long seed, int batch, float learningRate) {
        this(data, seed, batch, new Sgd(learningRate));
    }

    /** Trained by {@code optimizer} (for example {@link Adam}). */
    public LeNet5(FashionMnist data, long seed, int batch, Optimizer optimizer) {
        this.data = data;
        this.random = new SplittableRandom(seed);
        this.batch = batch;
        this.optimizer = optimizer;
        heInit(C1W, C1 * K * K, K * K);
        heInit(C2W, C2 * C1 * K * K, C1 * K * K);
        heInit(F1W, F1 * FLAT, FLAT);
        heInit(F2W, F2 * F1, F1);
        heInit(F3W, FashionMnist.CLASSES * F2, F2);
    }

    private void heInit(int offset, int count, int fanIn) {
        double scale = Math.sqrt(2.0 / fanIn);
        for (int i = 0; i < count; i++) {
            p[offset + i] = (float) (random.nextGaussian() * scale);
        }
    }

    /** What {@link #evaluationLoss} measures: the first {@code count} examples of a set (default: 200 of the training set). */
    public LeNet5 evaluatingOn(FashionMnist set, int count) {
        this.evaluation = set;
        this.evaluationCount = count;
        return this;
    }

    @Override
    public double step() {
        int[] examples = new int[batch];
        for (int k = 0; k < batch; k++) {
            examples[k] = random.nextInt(data.labels().length);
        }
        float[] gradient = new float[PARAMETERS];
        double loss = gradient(examples, gradient);
        optimizer.step(p, gradient);
        return loss;
    }

    /** Mean cross-entropy over the examples; adds the gradient of that mean into {@code gradient}. */
    double gradient(int[] examples, float[] gradient) {
        double loss = 0;
        float inverse = 1f / examples.length;
        for (int i : examples) {
            loss += forward(data.images()[i], data.labels()[i], scratch);
            backward(scratch, data.labels()[i], inverse, gradient);
        }
        return loss / examples.length;
    }

    @Override
    public double evaluationLoss() {
        FashionMnist set = evaluation == null ? data : evaluation;
        int n = Math.min(evaluationCount, set.labels().length);
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += forward(set.images()[i], set.labels()[i], scratch);
        }
        return total / n;
    }

    /** Fraction of the first {@code count} examples of a set classified correctly. */
    public double accuracy(FashionMnist set, int count) {
        int n = Math.min(count, set.labels().length);
        int correct = 0;
        for (int i = 0; i < n; i++) {
            forward(set.images()[i], set.labels()[i], scratch);
            int best = 0;
            for (int c = 1; c < FashionMnist.CLASSES; c++) {
                if (scratch.probabilities[c] > scratch.probabilities[best]) {
                    best = c;
                }
            }
            correct += best == set.labels()[i] ? 1 : 0;
        }
        return (double) correct / n;
    }

    /** The optimizer and its state (Adam's moments: part of an exact resume). */
    public Optimizer optimizer() {
        return optimizer;
    }

    @Override
    public float[] parameters() {
        return p.clone();
    }

    @Override
    public void setParameters(float[] parameters) {
        if (parameters.length != PARAMETERS) {
            throw new IllegalArgumentException("LeNet-5 has " + PARAMETERS + " parameters, got " + parameters.length);
        }
        System.arraycopy(parameters, 0, p, 0, PARAMETERS);
    }

    /** One example's activations, kept for the backward pass. */
    static final class Activations {
        final float[] input = new float[32 * 32]; // the image, zero-padded by 2
        final float[] a1 = new float[C1 * 28 * 28];
        final float[] p1 = new float[C1 * 14 * 14];
        final int[] i1 = new int[C1 * 14 * 14];
        final float[] a2 = new float[C2 * 10 * 10];
        final float[] p2 = new float[FLAT];
        final int[] i2 = new int[FLAT];
        final float[] h1 = new float[F1];
        final float[] h2 = new float[F2];
        final float[] probabilities = new float[FashionMnist.CLASSES];
        // gradients of the activations
        final float[] dp1 = new float[C1 * 14 * 14];
        final float[] da1 = new float[C1 * 28 * 28];
        final float[] da2 = new float[C2 * 10 * 10];
        final float[] dp2 = new float[FLAT];
        final float[] dh1 = new float[F1];
        final float[] dh2 = new float[F2];
    }

    /** Runs the network on one image; returns its cross-entropy. a1 and a2 hold the activations after ReLU. */
    private double forward(float[] image, int label, Activations s) {
        for (int y = 0; y < 28; y++) {
            System.arraycopy(image, y * 28, s.input, (y + 2) * 32 + 2, 28);
        }
        convolve(s.input, 32, 1, C1W, C1B, C1, 28, s.a1);
        pool(s.a1, C1, 28, s.p1, s.i1);
        convolve(s.p1, 14, C1, C2W, C2B, C2, 10, s.a2);
        pool(s.a2, C2, 10, s.p2, s.i2);
        dense(s.p2, FLAT, F1W, F1B, F1, s.h1, true);
        dense(s.h1, F1, F2W, F2B, F2, s.h2, true);
        float[] logits = new float[FashionMnist.CLASSES];
        dense(s.h2, F2, F3W, F3B, FashionMnist.CLASSES, logits, false);
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) {
            max = Math.max(max, z);
        }
        double sum = 0;
        double[] e = new double[FashionMnist.CLASSES];
        for (int c = 0; c < FashionMnist.CLASSES; c++) {
            e[c] = Math.exp(logits[c] - max);
            sum += e[c];
        }
        for (int c = 0; c < FashionMnist.CLASSES; c++) {
            s.probabilities[c] = (float) (e[c] / sum);
        }
        return -Math.log(Math.max(1e-12, e[label] / sum));
    }

    /** Valid 5x5 convolution of {@code channels} planes of side {@code side} into {@code filters} planes of side {@code out}, then ReLU. */
    private void convolve(float[] in, int side, int channels, int weights, int biases, int filters, int out, float[] result) {
        for (int f = 0; f < filters; f++) {
            int plane = f * out * out;
            java.util.Arrays.fill(result, plane, plane + out * out, p[biases + f]);
            for (int c = 0; c < channels; c++) {
                int w = weights + (f * channels + c) * K * K;
                int inPlane = c * side * side;
                for (int ky = 0; ky < K; ky++) {
                    for (int kx = 0; kx < K; kx++) {
                        float weight = p[w + ky * K + kx];
                        for (int oy = 0; oy < out; oy++) {
                            int row = plane + oy * out;
                            int source = inPlane + (oy + ky) * side + kx;
                            for (int ox = 0; ox < out; ox++) {
                                result[row + ox] += weight * in[source + ox];
                            }
                        }
                    }
                }
            }
            for (int i = plane; i < plane + out * out; i++) {
                result[i] = Math.max(0f, result[i]);
            }
        }
    }

    /** 2x2 max-pooling, remembering which input won. */
    private static void pool(float[] in, int channels, int side, float[] out, int[] winners) {
        int half = side / 2;
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < half; y++) {
                for (int x = 0; x < half; x++) {
                    int base = c * side * side + 2 * y * side + 2 * x;
                    int best = base;
                    for (int candidate : new int[] {base + 1, base + side, base + side + 1}) {
                        if (in[candidate] > in[best]) {
                            best = candidate;
                        }
                    }
                    int o = c * half * half + y * half + x;
                    out[o] = in[best];
                    winners[o] = best;
                }
            }
        }
    }

    private void dense(float[] in, int inputs, int weights, int biases, int outputs, float[] out, boolean relu) {
        for (int o = 0; o < outputs; o++) {
            float z = p[biases + o];
            int row = weights + o * inputs;
            for (int i = 0; i < inputs; i++) {
                z += p[row + i] * in[i];
            }
            out[o] = relu ? Math.max(0f, z) : z;
        }
    }

    /** Adds {@code scale} times the gradient of the example's loss into {@code g}. */
    private void backward(Activations s, int label, float scale, float[] g) {
        float[] dz = new float[FashionMnist.CLASSES];
        for (int c = 0; c < FashionMnist.CLASSES; c++) {
            dz[c] = (s.probabilities[c] - (c == label ? 1 : 0)) * scale;
        }
        denseBack(s.h2, F2, F3W, F3B, FashionMnist.CLASSES, dz, g, s.dh2);
        reluBack(s.h2, s.dh2);
        denseBack(s.h1, F1, F2W, F2B, F2, s.dh2, g, s.dh1);
        reluBack(s.h1, s.dh1);
        denseBack(s.p2, FLAT, F1W, F1B, F1, s.dh1, g, s.dp2);
        unpool(s.dp2, s.i2, s.a2, s.da2);
        convolveBack(s.p1, 14, C1, C2W, C2B, C2, 10, s.da2, g, s.dp1);
        unpool(s.dp1, s.i1, s.a1, s.da1);
        convolveBack(s.input, 32, 1, C1W, C1B, C1, 28, s.da1, g, null);
    }

    private void denseBack(float[] in, int inputs, int weights, int biases, int outputs, float[] dOut, float[] g, float[] dIn) {
        java.util.Arrays.fill(dIn, 0, inputs, 0f);
        for (int o = 0; o < outputs; o++) {
            float d = dOut[o];
            if (d == 0f) {
                continue;
            }
            g[biases + o] += d;
            int row = weights + o * inputs;
            for (int i = 0; i < inputs; i++) {
                g[row + i] += d * in[i];
                dIn[i] += d * p[row + i];
            }
        }
    }

    private static void reluBack(float[] activation, float[] gradient) {
        for (int i = 0; i < activation.length; i++) {
            if (activation[i] <= 0f) {
                gradient[i] = 0f;
            }
        }
    }

    /** Routes the pooled gradient to the winning inputs, through the ReLU that precedes the pooling. */
    private static void unpool(float[] dPooled, int[] winners, float[] activation, float[] dActivation) {
        java.util.Arrays.fill(dActivation, 0f);
        for (int o = 0; o < dPooled.length; o++) {
            int w = winners[o];
            if (activation[w] > 0f) {
                dActivation[w] += dPooled[o];
            }
        }
    }

    private void convolveBack(float[] in, int side, int channels, int weights, int biases, int filters, int out, float[] dOut,
                              float[] g, float[] dIn) {
        if (dIn != null) {
            java.util.Arrays.fill(dIn, 0f);
        }
        for (int f = 0; f < filters; f++) {
            int plane = f * out * out;
            float biasGradient = 0;
            for (int i = plane; i < plane + out * out; i++) {
                biasGradient += dOut[i];
            }
            g[biases + f] += biasGradient;
            for (int c = 0; c < channels; c++) {
                int w = weights + (f * channels + c) * K * K;
                int inPlane = c * side * side;
                for (int ky = 0; ky < K; ky++) {
                    for (int kx = 0; kx < K; kx++) {
                        float weight = p[w + ky * K + kx];
                        float weightGradient = 0;
                        for (int oy = 0; oy < out; oy++) {
                            int row = plane + oy * out;
                            int source = inPlane + (oy + ky) * side + kx;
                            for (int ox = 0; ox < out; ox++) {
                                weightGradient += dOut[row + ox] * in[source + ox];
                            }
                            if (dIn != null) {
                                for (int ox = 0; ox < out; ox++) {
                                    dIn[source + ox] += weight * dOut[row + ox];
                                }
                            }
                        }
                        g[w + ky * K + kx] += weightGradient;
                    }
                }
            }
        }
    }
}
