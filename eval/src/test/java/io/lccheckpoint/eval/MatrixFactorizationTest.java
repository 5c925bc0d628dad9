package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MatrixFactorizationTest {

    @Test
    void sgdRecoversTheLowRankStructureDownToTheNoise() {
        MatrixFactorization.Ratings data = MatrixFactorization.Ratings.synthetic(120, 80, 4, 0.3, 0.05, 11);
        assertThat(data.trainRating().length).isBetween(2300, 3100);
        assertThat(data.testRating().length).isBetween(250, 350);
        MatrixFactorization model = new MatrixFactorization(data, 4, 3, 32, 0.05f, 0.001f);
        double trainBefore = model.trainingLoss();
        double testBefore = model.evaluationLoss();
        for (int t = 0; t < 4000; t++) {
            model.step();
        }
        assertThat(model.trainingLoss()).isLessThan(trainBefore / 5);
        assertThat(model.evaluationLoss()).isLessThan(testBefore / 2);
        // parameters round-trip
        float[] parameters = model.parameters();
        assertThat(parameters).hasSize((120 + 80) * 4);
        MatrixFactorization copy = new MatrixFactorization(data, 4, 99, 32, 0.05f, 0.001f);
        copy.setParameters(parameters);
        assertThat(copy.evaluationLoss()).isEqualTo(model.evaluationLoss());
    }
}
