package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class LeNet5Test {

    @Test
    void trainingLowersTheLossAndLearnsTheClasses() {
        FashionMnist data = FashionMnist.synthetic(1000, 1);
        LeNet5 model = new LeNet5(data, 7, 16, 0.05f).evaluatingOn(data, 200);
        double before = model.evaluationLoss();
        for (int t = 0; t < 60; t++) {
            model.step();
        }
        assertThat(model.evaluationLoss()).isLessThan(before * 0.7);
        assertThat(model.accuracy(data, 200)).isGreaterThan(0.5);
    }

    @Test
    void theGradientMatchesFiniteDifferencesInEveryTensor() {
        FashionMnist data = FashionMnist.synthetic(20, 2);
        LeNet5 model = new LeNet5(data, 3, 4, 0.02f);
        for (int t = 0; t < 3; t++) {
            model.step();
        }
        int[] examples = {0, 5, 9};
        float[] gradient = new float[LeNet5.PARAMETERS];
        model.gradient(examples, gradient);
        double epsilon = 1e-3; // small enough that no ReLU or pooling winner flips (measured: 1e-2 flips some)
        int checked = 0;
        for (int tensor = 0; tensor < LeNet5.TENSORS.length; tensor++) {
            int from = LeNet5.OFFSETS[tensor];
            int size = LeNet5.OFFSETS[tensor + 1] - from;
            for (int k = 0; k < 4; k++) {
                int index = from + (int) ((long) size * k / 4 + size / 8) % size;
                float[] p = model.parameters();
                float original = p[index];
                p[index] = (float) (original + epsilon);
                model.setParameters(p);
                double plus = model.gradient(examples, new float[LeNet5.PARAMETERS]);
                p[index] = (float) (original - epsilon);
                model.setParameters(p);
                double minus = model.gradient(examples, new float[LeNet5.PARAMETERS]);
                p[index] = original;
                model.setParameters(p);
                double numeric = (plus - minus) / (2 * epsilon);
                assertThat((double) gradient[index]).as("d loss / d %s[%d]", LeNet5.TENSORS[tensor], index - from)
                        .isCloseTo(numeric, Offset.offset(2e-3 + 0.02 * Math.abs(numeric)));
                checked += gradient[index] != 0 ? 1 : 0;
            }
        }
        // most checks must be of a live gradient, not of a ReLU that happens to be off
        assertThat(checked).isGreaterThan(15); // 20 of 40 with this seed
    }

    @Test
    void aStepIsAPureFunctionOfTheSeed() {
        FashionMnist data = FashionMnist.synthetic(200, 3);
        LeNet5 a = new LeNet5(data, 11, 8, 0.05f);
        LeNet5 b = new LeNet5(data, 11, 8, 0.05f);
        for (int t = 0; t < 3; t++) {
            a.step();
            b.step();
        }
        assertThat(a.parameters()).containsExactly(b.parameters());
        assertThat(new LeNet5(data, 12, 8, 0.05f).parameters()).isNotEqualTo(a.parameters());
    }
}
