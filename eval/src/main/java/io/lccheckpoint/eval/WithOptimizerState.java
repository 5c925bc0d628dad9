package io.lccheckpoint.eval;

import java.util.Map;

/**
 * A LeNet-5 trained with {@link Adam} whose checkpointed state is the whole training state: one vector of the weights,
 * then Adam's {@code exp_avg}, then its {@code exp_avg_sq} (three segments of {@link #segment} values), so that a
 * {@link CheckpointScheme} stores the moments too and a resume continues with them (issue #14, case (b)).
 *
 * <p>A lossy reconstruction of {@code exp_avg_sq}, which is never negative, can dip below zero where the true value is
 * tiny; Adam takes its square root, so a resume clamps it at zero and counts the values it clamped ({@link #clamped}).
 */
public final class WithOptimizerState implements Trainer {
    private final LeNet5 model;
    private final java.util.concurrent.atomic.LongAdder clamped;

    public WithOptimizerState(LeNet5 model) {
        this(model, new java.util.concurrent.atomic.LongAdder());
    }

    /** Counting the values its resumes clamp into {@code clamped} (shared by the trainers of an experiment). */
    public WithOptimizerState(LeNet5 model, java.util.concurrent.atomic.LongAdder clamped) {
        if (!(model.optimizer() instanceof Adam)) {
            throw new IllegalArgumentException("the model is not trained with Adam");
        }
        this.model = model;
        this.clamped = clamped;
    }

    /** Values per segment: the model's parameter count. */
    public static int segment() {
        return LeNet5.PARAMETERS;
    }

    @Override
    public double step() {
        return model.step();
    }

    @Override
    public float[] parameters() {
        int n = segment();
        float[] state = new float[3 * n];
        System.arraycopy(model.parameters(), 0, state, 0, n);
        Map<String, float[]> moments = model.optimizer().state();
        if (!moments.isEmpty()) {
            System.arraycopy(moments.get(Adam.EXP_AVG), 0, state, n, n);
            System.arraycopy(moments.get(Adam.EXP_AVG_SQ), 0, state, 2 * n, n);
        }
        return state;
    }

    /** The weights and moments of {@code state}, with the optimizer's step count left as it is. */
    @Override
    public void setParameters(float[] state) {
        resumeFrom(state, (int) model.optimizer().steps());
    }

    @Override
    public void resumeFrom(float[] state, int iteration) {
        int n = segment();
        if (state.length != 3 * n) {
            throw new IllegalArgumentException("the state of LeNet-5 with Adam holds " + 3 * n + " values, got " + state.length);
        }
        model.setParameters(java.util.Arrays.copyOfRange(state, 0, n));
        float[] expAvg = java.util.Arrays.copyOfRange(state, n, 2 * n);
        float[] expAvgSq = java.util.Arrays.copyOfRange(state, 2 * n, 3 * n);
        for (int i = 0; i < n; i++) {
            if (expAvgSq[i] < 0) {
                expAvgSq[i] = 0;
                clamped.increment();
            }
        }
        model.optimizer().restore(Map.of(Adam.EXP_AVG, expAvg, Adam.EXP_AVG_SQ, expAvgSq), iteration);
    }

    /** Values of {@code exp_avg_sq} clamped at zero by resumes so far. */
    public long clamped() {
        return clamped.sum();
    }

    @Override
    public double evaluationLoss() {
        return model.evaluationLoss();
    }
}
