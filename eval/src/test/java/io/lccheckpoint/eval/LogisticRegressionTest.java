package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogisticRegressionTest {

    @Test
    void trainingLowersTheLoss() {
        FashionMnist data = FashionMnist.synthetic(2000, 1);
        LogisticRegression model = new LogisticRegression(data, 7, 32, 0.05f);
        double before = model.loss(data, 500);
        for (int t = 0; t < 200; t++) {
            model.step();
        }
        assertThat(model.loss(data, 500)).isLessThan(before * 0.7);
    }

    @Test
    void theGradientMatchesFiniteDifferences() {
        FashionMnist data = FashionMnist.synthetic(20, 2);
        LogisticRegression model = new LogisticRegression(data, 3, 4, 0.05f);
        for (int t = 0; t < 5; t++) {
            model.step();
        }
        int[] examples = {0, 3, 7, 11};
        float[] gradWeight = new float[model.weight.length];
        float[] gradBias = new float[model.bias.length];
        model.gradient(examples, gradWeight, gradBias);
        double epsilon = 1e-3;
        for (int j : new int[] {0, 100, 784 * 3 + 400, 784 * 9 + 783}) {
            float original = model.weight[j];
            model.weight[j] = (float) (original + epsilon);
            double plus = model.gradient(examples, new float[model.weight.length], new float[model.bias.length]);
            model.weight[j] = (float) (original - epsilon);
            double minus = model.gradient(examples, new float[model.weight.length], new float[model.bias.length]);
            model.weight[j] = original;
            assertThat(gradWeight[j]).as("d loss / d weight[%d]", j).isCloseTo((float) ((plus - minus) / (2 * epsilon)), org.assertj.core.data.Offset.offset(2e-3f));
        }
        for (int c = 0; c < 10; c++) {
            float original = model.bias[c];
            model.bias[c] = (float) (original + epsilon);
            double plus = model.gradient(examples, new float[model.weight.length], new float[model.bias.length]);
            model.bias[c] = (float) (original - epsilon);
            double minus = model.gradient(examples, new float[model.weight.length], new float[model.bias.length]);
            model.bias[c] = original;
            assertThat(gradBias[c]).as("d loss / d bias[%d]", c).isCloseTo((float) ((plus - minus) / (2 * epsilon)), org.assertj.core.data.Offset.offset(2e-3f));
        }
    }
}
