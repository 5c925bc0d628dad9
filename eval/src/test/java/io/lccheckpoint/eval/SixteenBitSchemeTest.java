package io.lccheckpoint.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;
import org.junit.jupiter.api.Test;

/** A bf16 trainer's weights stay bfloat16, and LC checkpoints them as bfloat16 chunks exactly as the codec's chain. */
class SixteenBitSchemeTest {

    @Test
    void aRoundedTrainersWeightsAreAlwaysValuesOfItsType() {
        FashionMnist data = FashionMnist.synthetic(100, 8);
        RoundedTrainer trainer = new RoundedTrainer(new LeNet5(data, 3, 8, new Adam(1e-3f)), ValueType.BFLOAT16);
        for (int t = 0; t < 3; t++) {
            trainer.step();
            for (float value : trainer.parameters()) {
                assertThat(SixteenBitFloats.isRepresentable(ValueType.BFLOAT16, value)).isTrue();
            }
        }
    }

    @Test
    void lcRestoresTheBfloat16ChainOfTheCodec() {
        FashionMnist data = FashionMnist.synthetic(100, 9);
        RoundedTrainer trainer = new RoundedTrainer(new LeNet5(data, 4, 8, 0.02f), ValueType.BFLOAT16);
        int chunk = 1 << 14;
        LcCheckpoint scheme = new LcCheckpoint("bf16", CodecOptions.zeroRun(2), chunk, ValueType.BFLOAT16);
        float[] initial = trainer.parameters();
        scheme.start(initial);
        float[] previous = initial.clone();
        ChunkState first = ChunkState.bfloat16(java.util.Arrays.copyOfRange(initial, 0, chunk));
        ChunkEncoder encoder = new ChunkEncoder(CodecOptions.zeroRun(2));
        for (int t = 1; t <= 3; t++) {
            trainer.step();
            float[] state = trainer.parameters();
            scheme.checkpoint(t, state);
            float[] delta = new float[chunk];
            for (int i = 0; i < chunk; i++) {
                delta[i] = state[i] - previous[i];
            }
            encoder.encode(delta, first);
            previous = state;
        }
        assertThat(java.util.Arrays.copyOfRange(scheme.restore(), 0, chunk)).containsExactly(first.approxFloat());
    }
}
