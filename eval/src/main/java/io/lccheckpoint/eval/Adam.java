package io.lccheckpoint.eval;

import java.util.Map;

/**
 * Adam (Kingma and Ba), as {@code torch.optim.Adam} computes it (not amsgrad, no weight decay, the single-tensor path),
 * in float32 with the scalars in double as Python computes them:
 * <pre>
 * m = m + (1 − β1)(g − m)                 exp_avg.lerp_(grad, 1 − β1)
 * v = β2 v + (1 − β2) g²                  exp_avg_sq.mul_(β2).addcmul_(grad, grad, value = 1 − β2)
 * p = p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * </pre>
 * Its state is two float32 tensors the size of the model ({@code exp_avg}, {@code exp_avg_sq}) and the step count: three
 * times the bytes of the weights to checkpoint, which is why issue #14 codes the moments too.
 */
public final class Adam implements Optimizer {
    public static final String EXP_AVG = "exp_avg";
    public static final String EXP_AVG_SQ = "exp_avg_sq";

    private final float learningRate;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private float[] expAvg;
    private float[] expAvgSq;
    private long steps;

    /** PyTorch's defaults for the betas and ε: 0.9, 0.999, 1e-8. */
    public Adam(float learningRate) {
        this(learningRate, 0.9, 0.999, 1e-8);
    }

    public Adam(float learningRate, double beta1, double beta2, double epsilon) {
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
    }

    @Override
    public void step(float[] parameters, float[] gradient) {
        if (expAvg == null) {
            expAvg = new float[parameters.length];
            expAvgSq = new float[parameters.length];
        }
        steps++;
        float oneMinusBeta1 = (float) (1 - beta1);
        float b2 = (float) beta2;
        float oneMinusBeta2 = (float) (1 - beta2);
        double biasCorrection1 = 1 - Math.pow(beta1, steps);
        double biasCorrection2 = 1 - Math.pow(beta2, steps);
        float stepSize = (float) (learningRate / biasCorrection1);
        float biasCorrection2Sqrt = (float) Math.sqrt(biasCorrection2);
        float eps = (float) epsilon;
        for (int i = 0; i < parameters.length; i++) {
            float g = gradient[i];
            expAvg[i] += oneMinusBeta1 * (g - expAvg[i]);
            expAvgSq[i] = expAvgSq[i] * b2 + oneMinusBeta2 * g * g;
            float denominator = (float) Math.sqrt(expAvgSq[i]) / biasCorrection2Sqrt + eps;
            parameters[i] -= stepSize * (expAvg[i] / denominator);
        }
    }

    @Override
    public Map<String, float[]> state() {
        return expAvg == null ? Map.of() : Map.of(EXP_AVG, expAvg.clone(), EXP_AVG_SQ, expAvgSq.clone());
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public void restore(Map<String, float[]> state, long steps) {
        float[] m = state.get(EXP_AVG);
        float[] v = state.get(EXP_AVG_SQ);
        if ((m == null) != (v == null) || (m != null && m.length != v.length)) {
            throw new IllegalArgumentException("Adam's state needs " + EXP_AVG + " and " + EXP_AVG_SQ + " of one length, got " + state.keySet());
        }
        this.expAvg = m == null ? null : m.clone();
        this.expAvgSq = v == null ? null : v.clone();
        this.steps = steps;
    }

    @Override
    public Optimizer fresh() {
        return new Adam(learningRate, beta1, beta2, epsilon);
    }
}
