package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CompressionBreakdownTest {

    @Test
    void eachStageShrinksAndTheZeroRunModeIsNeverLarger() {
        FashionMnist data = FashionMnist.synthetic(2000, 5);
        LogisticRegression model = new LogisticRegression(data, 1, 32, 0.05f);
        float[] initial = model.parameters();
        List<float[]> states = new ArrayList<>();
        for (int t = 0; t < 40; t++) {
            model.step();
            states.add(model.parameters());
        }
        for (CompressionBreakdown.Row row : CompressionBreakdown.measure(initial, states, new int[] {1, 2, 3})) {
            assertThat(row.ratioEP()).isEqualTo(32.0 / row.promotionBits());
            assertThat(row.ratioE()).isGreaterThan(1).isLessThan(row.ratioEP());
            assertThat(row.ratioEPH()).isGreaterThan(row.ratioEP() * 0.9);
            assertThat(row.ratioZeroRun()).isGreaterThanOrEqualTo(row.ratioEPH());
            assertThat(row.zeroFraction()).isBetween(0.0, 1.0);
        }
    }
}
