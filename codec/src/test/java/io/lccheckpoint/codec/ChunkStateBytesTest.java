package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** A chunk state to and from the little-endian bytes the pipeline's records carry (FORMAT.md §1, §5), in both types. */
class ChunkStateBytesTest {

    @Test
    void aFloat32StateRoundTripsThroughItsBytesWithItsChecksum() {
        ChunkState state = ChunkState.ofFloat32(new float[] {1.5f, -0.0f, Float.MIN_VALUE, 3e38f}, new float[] {0.25f, 0, -1e-20f, 7});
        ByteBuffer approx = state.approxLittleEndian();
        assertThat(approx.order(ByteOrder.LITTLE_ENDIAN).getFloat(4)).isEqualTo(-0.0f);
        assertThat(ChunkState.fromLittleEndian(ValueType.FLOAT32, approx, state.residualLittleEndian())).isEqualTo(state);
        assertThat(state.approxChecksum()).isEqualTo(Checksums.xxh64(state.approxFloat()));
        ChunkState initial = ChunkState.initial(ValueType.FLOAT32, approx);
        assertThat(initial.approxFloat()).containsExactly(state.approxFloat());
        assertThat(initial.residualFloat()).containsOnly(0f);
    }

    @Test
    void aFloat64StateRoundTripsThroughItsBytesWithItsChecksum() {
        ChunkState state = ChunkState.ofFloat64(new double[] {1.5, -0.0, Double.MIN_VALUE}, new double[] {0.25, 0, -1e-300});
        assertThat(ChunkState.fromLittleEndian(ValueType.FLOAT64, state.approxLittleEndian(), state.residualLittleEndian())).isEqualTo(state);
        assertThat(state.approxChecksum()).isEqualTo(Checksums.xxh64(state.approxDouble()));
        assertThat(ChunkState.initial(ValueType.FLOAT64, state.approxLittleEndian()).approxDouble()).containsExactly(state.approxDouble());
    }

    @Test
    void aLittleEndianDeltaCodesAsItsValuesDo() {
        float[] delta = new float[300];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = (float) Math.sin(i) * 1e-3f;
        }
        ByteBuffer bytes = ByteBuffer.allocate(4 * delta.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(delta);
        ChunkEncoder encoder = new ChunkEncoder(new CodecOptions(2, EntropyMode.ZERO_RUN));
        ChunkState a = ChunkState.float32(new float[delta.length]);
        ChunkState b = ChunkState.float32(new float[delta.length]);
        assertThat(encoder.encodeLittleEndian(bytes, a).record()).isEqualTo(encoder.encode(delta, b).record());
        assertThat(a).isEqualTo(b);
    }
}
