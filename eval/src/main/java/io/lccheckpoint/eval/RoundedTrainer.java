package io.lccheckpoint.eval;

import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;

/**
 * A trainer whose weights live in a 16-bit type (issue #14's bf16 run): after every step, and at the start, its
 * parameters are rounded to the type (round-to-nearest-even), as a bf16 trainer would have them.
 */
public final class RoundedTrainer implements Trainer {
    private final Trainer model;
    private final ValueType type;

    public RoundedTrainer(Trainer model, ValueType type) {
        if (type != ValueType.BFLOAT16 && type != ValueType.FLOAT16) {
            throw new IllegalArgumentException("not a 16-bit type: " + type);
        }
        this.model = model;
        this.type = type;
        round();
    }

    private void round() {
        float[] values = model.parameters();
        for (int i = 0; i < values.length; i++) {
            values[i] = SixteenBitFloats.round(type, values[i]);
        }
        model.setParameters(values);
    }

    @Override
    public double step() {
        double loss = model.step();
        round();
        return loss;
    }

    @Override
    public float[] parameters() {
        return model.parameters();
    }

    @Override
    public void setParameters(float[] parameters) {
        model.setParameters(parameters);
        round();
    }

    @Override
    public double evaluationLoss() {
        return model.evaluationLoss();
    }
}
