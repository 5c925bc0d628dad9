package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.junit.jupiter.api.Test;

/** The state checksum is XXH64 (seed 0) of the little-endian serialization, so any XXH64 library can check it. */
class StateChecksumTest {
    private static final XXHash64 REFERENCE = XXHashFactory.safeInstance().hash64();

    @Test
    void floatChecksumIsXxh64OfTheLittleEndianBytes() {
        Corpus corpus = new Corpus(1);
        for (int n = 0; n < 80; n++) {
            check(corpus.floats(Corpus.Shape.RANDOM_BITS, n));
        }
        check(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, 100_003));
    }

    @Test
    void doubleChecksumIsXxh64OfTheLittleEndianBytes() {
        Corpus corpus = new Corpus(2);
        for (int n = 0; n < 40; n++) {
            double[] values = corpus.doubles(Corpus.Shape.RANDOM_BITS, n);
            ByteBuffer bytes = ByteBuffer.allocate(8 * n).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asDoubleBuffer().put(values);
            assertThat(StateChecksum.of(values, n)).isEqualTo(REFERENCE.hash(bytes.array(), 0, 8 * n, 0));
        }
    }

    /** The running checksum, fed at any block ends (not only whole stripes, some repeated), is XXH64 of the whole. */
    @Test
    void theRunningChecksumIsXxh64OfTheWholeHoweverItIsFed() {
        Corpus corpus = new Corpus(4);
        java.util.Random ends = new java.util.Random(4);
        StateChecksum.Running running = new StateChecksum.Running();
        for (int n = 0; n < 300; n += n < 40 ? 1 : 37) {
            float[] floats = corpus.floats(Corpus.Shape.RANDOM_BITS, n);
            double[] doubles = corpus.doubles(Corpus.Shape.RANDOM_BITS, n);
            ByteBuffer floatBytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            floatBytes.asFloatBuffer().put(floats);
            ByteBuffer doubleBytes = ByteBuffer.allocate(8 * n).order(ByteOrder.LITTLE_ENDIAN);
            doubleBytes.asDoubleBuffer().put(doubles);
            for (int trial = 0; trial < 5; trial++) {
                running.start();
                for (int end = 0; end < n; end += ends.nextInt(20)) {
                    running.update(floats, end);
                }
                assertThat(running.finish(floats, n)).as("float32, n = %d", n).isEqualTo(REFERENCE.hash(floatBytes.array(), 0, 4 * n, 0));
                running.start();
                for (int end = 0; end < n; end += ends.nextInt(20)) {
                    running.update(doubles, end);
                }
                assertThat(running.finish(doubles, n)).as("float64, n = %d", n).isEqualTo(REFERENCE.hash(doubleBytes.array(), 0, 8 * n, 0));
            }
        }
    }

    @Test
    void theRecordCarriesTheXxh64OfTheReconstruction() {
        Corpus corpus = new Corpus(3);
        for (CodecOptions options : new CodecOptions[] {CodecOptions.paper(2), CodecOptions.zeroRun(2)}) {
            for (int n : new int[] {1, 7, 8, 9, 15, 16, 17, 1000, 1003}) {
                ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                byte[] record = new ChunkEncoder(options).encode(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n), state).record();
                long stored = LittleEndian.getLong(record, record.length - RecordFormat.TRAILER_BYTES);
                assertThat(stored).isEqualTo(StateChecksum.of(state.approxFloat(), n));
                // what the encoder's digest and anchors read instead of hashing the state again
                assertThat(ChunkDecoder.stateChecksum(record)).isEqualTo(Checksums.xxh64(state.approxFloat()));
            }
        }
    }

    private static void check(float[] values) {
        int n = values.length;
        ByteBuffer bytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        assertThat(StateChecksum.of(values, n)).as("n = %d", n).isEqualTo(REFERENCE.hash(bytes.array(), 0, 4 * n, 0));
    }
}
