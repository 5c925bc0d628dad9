package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import net.jpountz.xxhash.XXHashFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Exact types (FORMAT.md §4.5): integer and bool chunks are stored losslessly, cheaply when they do not change, and a
 * decoder that starts from the initial values rebuilds every step bit for bit.
 */
class ExactTypesTest {
    static final List<ValueType> EXACT = Arrays.stream(ValueType.values()).filter(ValueType::isExact).toList();

    @ParameterizedTest
    @EnumSource(value = ValueType.class, names = {"INT8", "INT16", "INT32", "INT64", "UINT8", "BOOL"})
    void everyStepOfEveryShapeRestoresBitForBit(ValueType type) {
        ChunkEncoder encoder = new ChunkEncoder(CodecOptions.paper(2));
        ChunkDecoder decoder = new ChunkDecoder();
        Set<Coding> codings = EnumSet.noneOf(Coding.class);
        for (int n : new int[] {1, 7, 1000, 20_000}) {
            Corpus corpus = new Corpus(n + type.ordinal());
            long[] truth = canonical(type, corpus.integerInitial(n, type));
            ChunkState coder = ChunkState.exact(type, truth);
            ChunkState restorer = ChunkState.initial(type, coder.approxLittleEndian());
            for (Corpus.IntegerShape shape : Corpus.IntegerShape.values()) {
                for (int step = 0; step < 3; step++) {
                    long[] next = canonical(type, corpus.nextIntegers(shape, truth, type));
                    EncodedChunk chunk = encoder.encode(Corpus.differences(next, truth), coder);
                    codings.add(chunk.coding());
                    truth = next;
                    assertThat(coder.approxLong()).as("%s n=%d %s: ũ = u", type, n, shape).containsExactly(truth);
                    assertThat(decoder.applyTo(chunk.record(), restorer)).isEqualTo(coder.approxChecksum());
                    assertThat(restorer.approxLong()).as("%s n=%d %s step %d", type, n, shape, step).containsExactly(truth);
                    assertThat(ChunkDecoder.inspect(chunk.record()).promotionBits()).isZero();
                    assertThat(chunk.record()[RecordFormat.OFFSET_VERSION]).isEqualTo((byte) 3);
                }
            }
        }
        assertThat(codings).as("%s exercises", type).contains(Coding.CONSTANT, Coding.ZERO_RUN);
        if (type.bytes > 1) {
            assertThat(codings).as("random %s values are written verbatim", type).contains(Coding.VERBATIM);
        }
    }

    @Test
    void anUnchangedChunkCostsTwentyEightBytesAndACounterThirtySixAtMost() {
        for (ValueType type : EXACT) {
            for (int n : new int[] {1, 100_000}) {
                ChunkState state = ChunkState.exact(type, new long[n]);
                ChunkEncoder encoder = new ChunkEncoder(CodecOptions.zeroRun(1));
                EncodedChunk unchanged = encoder.encode(new long[n], state);
                assertThat(unchanged.record()).as("%s × %d unchanged", type, n).hasSize(28);
                assertThat(unchanged.coding()).isEqualTo(Coding.CONSTANT);
                long[] ones = new long[n];
                Arrays.fill(ones, 1);
                EncodedChunk counter = encoder.encode(ones, state);
                assertThat(counter.record()).as("%s × %d all +1", type, n).hasSize(28 + type.bytes);
            }
        }
    }

    @Test
    void integersWrapAroundAsTheTypeDoes() {
        ChunkState int8 = ChunkState.exact(ValueType.INT8, new long[] {127, -128, 5});
        ChunkState restored = int8.copy();
        byte[] record = new ChunkEncoder(CodecOptions.paper(2)).encode(new long[] {1, -1, 256}, int8).record();
        assertThat(int8.approxLong()).containsExactly(-128, 127, 5);
        new ChunkDecoder().applyTo(record, restored);
        assertThat(restored.approxLong()).containsExactly(-128, 127, 5);

        ChunkState uint8 = ChunkState.exact(ValueType.UINT8, new long[] {255, -1});
        assertThat(uint8.approxLong()).as("-1 is the UINT8 255").containsExactly(255, 255);
        new ChunkEncoder(CodecOptions.paper(2)).encode(new long[] {1, 0}, uint8);
        assertThat(uint8.approxLong()).containsExactly(0, 255);

        ChunkState int64 = ChunkState.exact(ValueType.INT64, new long[] {Long.MAX_VALUE});
        new ChunkEncoder(CodecOptions.paper(2)).encode(new long[] {1}, int64);
        assertThat(int64.approxLong()).containsExactly(Long.MIN_VALUE);
    }

    @Test
    void aBoolThatWouldLeaveZeroAndOneIsRefusedAndTheStateKept() {
        ChunkState state = ChunkState.exact(ValueType.BOOL, new long[] {0, 1, 1});
        assertThatThrownBy(() -> new ChunkEncoder(CodecOptions.paper(2)).encode(new long[] {1, 1, 0}, state))
                .isInstanceOf(BadValueException.class).hasMessageContaining("not 0 or 1").hasMessageContaining("index 1");
        assertThat(state.approxLong()).containsExactly(0, 1, 1);
        assertThatThrownBy(() -> ChunkState.exact(ValueType.BOOL, new long[] {2}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a bool");
    }

    @Test
    void theDecoderRefusesExactRecordsThatBreakTheRules() {
        ChunkState state = ChunkState.exact(ValueType.INT32, new long[64]);
        long[] delta = new long[64];
        delta[3] = 7;
        delta[40] = -2;
        byte[] record = new ChunkEncoder(CodecOptions.zeroRun(2)).encode(delta, state).record();
        long[] previous = new long[64];
        ChunkDecoder decoder = new ChunkDecoder();

        byte[] promoted = record.clone();
        promoted[RecordFormat.OFFSET_PROMOTION_BITS] = 2;
        assertThatThrownBy(() -> decoder.apply(Records.resign(promoted), ValueType.INT32, previous, new long[64]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("promotion bits 2");

        byte[] noZero = record.clone();
        noZero[RecordFormat.OFFSET_FLAGS] = 0;
        assertThatThrownBy(() -> decoder.apply(Records.resign(noZero), ValueType.INT32, previous, new long[64]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("zero-symbol flag");

        byte[] versionTwo = record.clone();
        versionTwo[RecordFormat.OFFSET_VERSION] = 2;
        assertThatThrownBy(() -> decoder.apply(Records.resign(versionTwo), ValueType.INT32, previous, new long[64]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("unknown value type 7 in format version 2");

        assertThatThrownBy(() -> decoder.apply(record, ValueType.INT64, previous, new long[64]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("record holds INT32 values but the state is INT64");
        assertThatThrownBy(() -> decoder.apply(record, new float[64]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("record holds INT32 values");

        // VERBATIM belongs to the exact types only
        ChunkState floats = ChunkState.float32(new float[4]);
        byte[] floatRecord = new ChunkEncoder(CodecOptions.paper(2)).encode(new float[] {1, 2, 3, 4}, floats).record();
        byte[] verbatimFloat = floatRecord.clone();
        verbatimFloat[RecordFormat.OFFSET_CODING] = (byte) Coding.VERBATIM.wireCode;
        assertThatThrownBy(() -> decoder.apply(Records.resign(verbatimFloat), new float[4]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("VERBATIM");

        decoder.apply(record, ValueType.INT32, previous, previous);
        assertThat(previous[3]).isEqualTo(7);
        assertThat(previous[40]).isEqualTo(-2);
    }

    @Test
    void theStateChecksumIsXxh64OfTheLittleEndianIntegers() {
        var reference = XXHashFactory.safeInstance().hash64();
        Corpus corpus = new Corpus(5);
        for (ValueType type : EXACT) {
            for (int n : new int[] {1, 3, 5, 31, 32, 33, 1000}) {
                ChunkState state = ChunkState.exact(type, corpus.nextIntegers(Corpus.IntegerShape.RANDOM, new long[n], type));
                byte[] bytes = state.approxLittleEndian().array();
                assertThat(bytes).hasSize(n * type.bytes);
                assertThat(state.approxChecksum()).as("%s × %d", type, n).isEqualTo(reference.hash(bytes, 0, bytes.length, 0));
                assertThat(ChunkState.initial(type, ByteBuffer.wrap(bytes))).isEqualTo(state);
            }
        }
    }

    private static long[] canonical(ValueType type, long[] values) {
        return ChunkState.exact(type, values).approxLong();
    }
}
