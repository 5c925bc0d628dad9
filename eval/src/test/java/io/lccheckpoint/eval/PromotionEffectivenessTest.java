package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class PromotionEffectivenessTest {

    @Test
    void theLargestExponentMattersMoreThanTheSmallest() {
        FashionMnist data = FashionMnist.synthetic(2000, 6);
        LogisticRegression model = new LogisticRegression(data, 2, 32, 0.05f);
        for (int t = 0; t < 20; t++) {
            model.step();
        }
        float[] base = model.parameters();
        for (int t = 0; t < 10; t++) {
            model.step();
        }
        float[] after = model.parameters();
        List<PromotionEffectiveness.Bucket> buckets = PromotionEffectiveness.measure(model, data, 500, base, after);
        assertThat(buckets).hasSizeGreaterThan(3);
        assertThat(buckets.stream().mapToDouble(PromotionEffectiveness.Bucket::fraction).sum()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(buckets.get(0).relativeLossError()).isGreaterThan(buckets.get(buckets.size() - 1).relativeLossError());
        assertThat(model.parameters()).containsExactly(after);
    }
}
