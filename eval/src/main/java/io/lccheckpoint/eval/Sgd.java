package io.lccheckpoint.eval;

import java.util.Map;

/** Plain minibatch SGD, {@code p −= lr · g}: no state of its own. */
public final class Sgd implements Optimizer {
    private final float learningRate;
    private long steps;

    public Sgd(float learningRate) {
        this.learningRate = learningRate;
    }

    @Override
    public void step(float[] parameters, float[] gradient) {
        for (int i = 0; i < parameters.length; i++) {
            parameters[i] -= learningRate * gradient[i];
        }
        steps++;
    }

    @Override
    public Map<String, float[]> state() {
        return Map.of();
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public void restore(Map<String, float[]> state, long steps) {
        this.steps = steps;
    }

    @Override
    public Optimizer fresh() {
        return new Sgd(learningRate);
    }
}
