package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lccheckpoint.codec.CodecOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The whole training state (weights and Adam's moments) as one checkpointed vector, and schemes per segment. */
class OptimizerStateCheckpointTest {

    @Test
    void aResumeFromTheWholeStateIsTheRunThatWentOn() {
        FashionMnist data = FashionMnist.synthetic(200, 5);
        WithOptimizerState through = new WithOptimizerState(new LeNet5(data, 9, 8, new Adam(1e-3f)));
        for (int t = 0; t < 4; t++) {
            through.step();
        }
        float[] state = through.parameters();
        assertThat(state).hasSize(3 * LeNet5.PARAMETERS);
        WithOptimizerState resumed = new WithOptimizerState(new LeNet5(data, 9, 8, new Adam(1e-3f)));
        for (int t = 0; t < 4; t++) {
            resumed.step(); // the same data order from here on
        }
        resumed.resumeFrom(state, 4);
        through.step();
        resumed.step();
        assertThat(resumed.parameters()).containsExactly(through.parameters());
        assertThat(resumed.clamped()).isZero();
    }

    @Test
    void aNegativeSecondMomentFromALossyRestoreIsClampedAndCounted() {
        FashionMnist data = FashionMnist.synthetic(100, 6);
        WithOptimizerState model = new WithOptimizerState(new LeNet5(data, 1, 4, new Adam(1e-3f)));
        model.step();
        float[] state = model.parameters();
        state[2 * LeNet5.PARAMETERS + 5] = -1e-12f;
        model.resumeFrom(state, 1);
        assertThat(model.clamped()).isEqualTo(1);
        assertThat(model.parameters()[2 * LeNet5.PARAMETERS + 5]).isZero();
        double loss = model.step();
        assertThat(loss).isFinite();
        assertThatThrownBy(() -> new WithOptimizerState(new LeNet5(data, 1, 4, 0.01f))).hasMessageContaining("not trained with Adam");
    }

    @Test
    void eachSegmentHasItsOwnSchemeAndItsOwnBytes() {
        int n = 1000;
        Map<String, Supplier<CheckpointScheme>> segments = new LinkedHashMap<>();
        segments.put("weights", () -> new LcCheckpoint("w", CodecOptions.zeroRun(2), 256));
        segments.put("moments", () -> new FullCheckpoint(2));
        SegmentedScheme scheme = new SegmentedScheme("split", n, segments);
        float[] state = new float[2 * n];
        scheme.start(state.clone());
        for (int t = 1; t <= 3; t++) {
            for (int i = 0; i < state.length; i++) {
                state[i] += (float) Math.sin(i * 0.1 + t) * 1e-3f;
            }
            scheme.checkpoint(t, state.clone());
        }
        // the moments' full checkpoint was taken at 2 (every 2): the whole state restores as of iteration 2
        assertThat(scheme.restoredIteration()).isEqualTo(2);
        assertThat(scheme.bytesBySegment().get("moments")).isEqualTo(4L * n);
        assertThat(scheme.bytesBySegment().get("weights")).isPositive().isLessThan(3 * 4L * n);
        float[] restored = scheme.restore();
        assertThat(restored).hasSize(2 * n);
        assertThatThrownBy(() -> scheme.checkpoint(4, new float[n])).hasMessageContaining("2 segments of 1000 values");
    }
}
