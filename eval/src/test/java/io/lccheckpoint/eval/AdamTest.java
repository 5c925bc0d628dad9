package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** Adam against an independent double-precision reference, its first step's known size, and resuming from its state. */
class AdamTest {

    /** The textbook update in double (Kingma and Ba, Algorithm 1, with PyTorch's placement of ε). */
    private static void reference(double[] p, double[] m, double[] v, double[] g, int t, double lr) {
        for (int i = 0; i < p.length; i++) {
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(0.9, t));
            double vHat = v[i] / (1 - Math.pow(0.999, t));
            p[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
        }
    }

    @Test
    void itFollowsTheTextbookUpdateToFloat32Precision() {
        SplittableRandom random = new SplittableRandom(1);
        int n = 1000;
        float[] p = new float[n];
        double[] pd = new double[n];
        double[] m = new double[n];
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = (float) random.nextGaussian();
            pd[i] = p[i];
        }
        Adam adam = new Adam(1e-3f);
        for (int t = 1; t <= 50; t++) {
            float[] g = new float[n];
            double[] gd = new double[n];
            for (int i = 0; i < n; i++) {
                g[i] = (float) (random.nextGaussian() * 0.1 + 0.01 * p[i]);
                gd[i] = g[i];
            }
            adam.step(p, g);
            reference(pd, m, v, gd, t, 1e-3);
        }
        for (int i = 0; i < n; i++) {
            assertThat((double) p[i]).isCloseTo(pd[i], Offset.offset(1e-5));
        }
        assertThat(adam.steps()).isEqualTo(50);
        assertThat(adam.state().get(Adam.EXP_AVG)[7]).isCloseTo((float) m[7], Offset.offset(1e-6f));
        assertThat(adam.state().get(Adam.EXP_AVG_SQ)[7]).isCloseTo((float) v[7], Offset.offset(1e-7f));
    }

    @Test
    void itsFirstStepMovesEveryParameterByTheLearningRate() {
        // after one step m̂ = g and v̂ = g²: the update is lr · g / (|g| + ε), about lr against the gradient's sign
        float[] p = {1f, 1f, 1f};
        new Adam(0.01f).step(p, new float[] {3f, -0.5f, 1e-3f});
        assertThat(p[0]).isCloseTo(0.99f, Offset.offset(1e-6f));
        assertThat(p[1]).isCloseTo(1.01f, Offset.offset(1e-6f));
        assertThat(p[2]).isCloseTo(0.99f, Offset.offset(1e-6f));
    }

    @Test
    void aRunResumedWithItsStateIsTheRunThatWentOnAndAColdOneIsNot() {
        FashionMnist data = FashionMnist.synthetic(200, 4);
        LeNet5 through = new LeNet5(data, 5, 8, new Adam(1e-3f));
        for (int t = 0; t < 5; t++) {
            through.step();
        }
        float[] saved = through.parameters();
        Map<String, float[]> state = through.optimizer().state();
        long steps = through.optimizer().steps();
        for (int t = 0; t < 3; t++) {
            through.step();
        }

        // a resume replays the data order too: the same seed, stepped as far
        LeNet5 resumed = new LeNet5(data, 5, 8, new Adam(1e-3f));
        LeNet5 cold = new LeNet5(data, 5, 8, new Adam(1e-3f));
        for (int t = 0; t < 5; t++) {
            resumed.step();
            cold.step();
        }
        resumed.setParameters(saved);
        resumed.optimizer().restore(state, steps);
        cold.setParameters(saved);
        cold.optimizer().restore(Map.of(), 0);
        for (int t = 0; t < 3; t++) {
            resumed.step();
            cold.step();
        }
        assertThat(resumed.parameters()).containsExactly(through.parameters());
        assertThat(cold.parameters()).isNotEqualTo(through.parameters());
        assertThat(through.optimizer().fresh().state()).isEmpty();
    }

    @Test
    void aStateWithoutBothMomentsIsRefused() {
        assertThatThrownBy(() -> new Adam(1e-3f).restore(Map.of(Adam.EXP_AVG, new float[3]), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(Adam.EXP_AVG_SQ);
    }

    @Test
    void leNet5LearnsWithAdam() {
        FashionMnist data = FashionMnist.synthetic(1000, 1);
        LeNet5 model = new LeNet5(data, 7, 16, new Adam(1e-3f)).evaluatingOn(data, 200);
        double before = model.evaluationLoss();
        for (int t = 0; t < 60; t++) {
            model.step();
        }
        assertThat(model.evaluationLoss()).isLessThan(before * 0.7);
    }
}
