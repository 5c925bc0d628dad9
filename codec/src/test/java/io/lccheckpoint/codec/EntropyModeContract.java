package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What every codec configuration must do (STYLE.md: one contract test that every variant passes): reproduce the
 * reference quantizer bit for bit, decode to exactly the encoder's reconstruction, and turn every corrupt, truncated
 * or mismatched input into a typed exception.
 */
abstract class EntropyModeContract {
    private static final int[] SIZES = {1, 2, 3, 7, 64, 1000, 4099};

    abstract CodecOptions options();

    final ChunkEncoder encoder = new ChunkEncoder(options());
    final ChunkDecoder decoder = new ChunkDecoder();

    /** Encodes one step against the reference and checks residual, reconstruction and decoding bit for bit. */
    EncodedChunk checkStep(float[] delta, ChunkState state) {
        float[] previousApprox = state.approxFloat().clone();
        float[] previousResidual = state.residualFloat().clone();
        EncodedChunk chunk = encoder.encode(delta, state);

        float[] sum = new float[delta.length];
        for (int i = 0; i < delta.length; i++) {
            sum[i] = delta[i] + previousResidual[i];
        }
        float[] q = ReferenceQuantizer.quantize(sum, options().promotionBits());
        float[] expectedResidual = new float[delta.length];
        float[] expectedApprox = new float[delta.length];
        for (int i = 0; i < delta.length; i++) {
            expectedResidual[i] = sum[i] - q[i];
            expectedApprox[i] = previousApprox[i] + q[i];
        }
        assertThat(Records.bits(state.residualFloat())).as("residual").isEqualTo(Records.bits(expectedResidual));
        assertThat(Records.bits(state.approxFloat())).as("reconstruction").isEqualTo(Records.bits(expectedApprox));

        float[] decoded = previousApprox.clone();
        decoder.apply(chunk.record(), decoded);
        assertThat(Records.bits(decoded)).as("decoded reconstruction").isEqualTo(Records.bits(state.approxFloat()));
        float[] out = new float[delta.length];
        decoder.apply(chunk.record(), previousApprox, out);
        assertThat(Records.bits(out)).as("decoded into a separate array").isEqualTo(Records.bits(state.approxFloat()));
        return chunk;
    }

    /**
     * A step of a 16-bit chunk (FORMAT.md §1): {@code s = ũ + q} in float32, {@code ũ = round(s)}, {@code r = (δ − q)
     * + (s − ũ)}; the decoder must rebuild ũ bit for bit and ũ must hold values of the type only.
     */
    EncodedChunk checkSixteenBitStep(float[] delta, ChunkState state) {
        ValueType type = state.type();
        float[] previousApprox = state.approxFloat().clone();
        float[] previousResidual = state.residualFloat().clone();
        EncodedChunk chunk = encoder.encode(delta, state);
        float[] sum = new float[delta.length];
        for (int i = 0; i < delta.length; i++) {
            sum[i] = delta[i] + previousResidual[i];
        }
        float[] q = ReferenceQuantizer.quantize(sum, options().promotionBits(), type);
        float[] expectedResidual = new float[delta.length];
        float[] expectedApprox = new float[delta.length];
        for (int i = 0; i < delta.length; i++) {
            float s = previousApprox[i] + q[i];
            expectedApprox[i] = SixteenBitFloats.round(type, s);
            expectedResidual[i] = (sum[i] - q[i]) + (s - expectedApprox[i]);
        }
        assertThat(Records.bits(state.residualFloat())).as("residual").isEqualTo(Records.bits(expectedResidual));
        assertThat(Records.bits(state.approxFloat())).as("reconstruction").isEqualTo(Records.bits(expectedApprox));
        for (float value : state.approxFloat()) {
            assertThat(SixteenBitFloats.isRepresentable(type, value)).as("%s is a %s", value, type).isTrue();
        }
        assertThat(chunk.record()[RecordFormat.OFFSET_VERSION]).as("format version").isEqualTo((byte) 2);
        float[] decoded = previousApprox.clone();
        decoder.apply(chunk.record(), decoded);
        assertThat(Records.bits(decoded)).as("decoded reconstruction").isEqualTo(Records.bits(state.approxFloat()));
        float[] out = new float[delta.length];
        decoder.apply(chunk.record(), previousApprox, out);
        assertThat(Records.bits(out)).as("decoded into a separate array").isEqualTo(Records.bits(state.approxFloat()));
        assertThat(ChunkDecoder.stateChecksum(chunk.record())).isEqualTo(state.approxChecksum());
        return chunk;
    }

    static final ValueType[] SIXTEEN_BIT = {ValueType.BFLOAT16, ValueType.FLOAT16};

    static ChunkState sixteenBitState(ValueType type, float[] initial) {
        return type == ValueType.BFLOAT16 ? ChunkState.bfloat16(initial) : ChunkState.float16(initial);
    }

    @Test
    void sixteenBitTypesMatchTheReferenceOnEveryShapeAndSize() {
        Corpus corpus = new Corpus(43);
        for (ValueType type : SIXTEEN_BIT) {
            for (Corpus.Shape shape : Corpus.Shape.values()) {
                for (int n : SIZES) {
                    ChunkState state = sixteenBitState(type, corpus.sixteenBitInitial(n, type));
                    checkSixteenBitStep(corpus.sixteenBit(shape, n, type), state);
                    checkSixteenBitStep(corpus.sixteenBit(shape, n, type), state);
                }
            }
        }
    }

    @Test
    void sixteenBitEdgeValuesRoundTrip() {
        float[] bf16 = {0f, -0f, Float.MIN_VALUE, 0x1p-133f, -0x1p-133f, 0x1p-126f, 1e-30f, 0.1f, -0.1f, 1f, 1.00390625f,
                0x1.fep127f, -0x1.fep127f, 0x1.fep126f, 1e-3f, 1e-6f};
        float[] fp16 = {0f, -0f, 0x1p-24f, -0x1p-24f, 0x1p-25f, 1e-10f, 0x1.ff8p-15f, 0x1p-14f, -0x1p-14f, 0.1f, -0.1f,
                65504f, -65504f, 65519f, 1e-3f, 1f + 0x1p-11f};
        for (ValueType type : SIXTEEN_BIT) {
            float[] delta = type == ValueType.BFLOAT16 ? bf16 : fp16;
            ChunkState state = sixteenBitState(type, new float[delta.length]);
            checkSixteenBitStep(delta, state);
            float[] back = delta.clone();
            for (int i = 0; i < back.length; i++) {
                back[i] = -back[i] * 0.5f;
            }
            checkSixteenBitStep(back, state);
            checkSixteenBitStep(new float[delta.length], state);
        }
    }

    @Test
    void sixteenBitBadValuesAreRejectedAndLeaveTheStateUntouched() {
        Object[][] cases = {
                {ValueType.BFLOAT16, Float.NaN, "NaN"}, {ValueType.BFLOAT16, Float.NEGATIVE_INFINITY, "infinite"},
                {ValueType.BFLOAT16, Float.MAX_VALUE, "finite range"}, {ValueType.FLOAT16, Float.NaN, "NaN"},
                {ValueType.FLOAT16, Float.POSITIVE_INFINITY, "infinite"}, {ValueType.FLOAT16, 65520f, "finite range"},
                {ValueType.FLOAT16, -1e6f, "finite range"}};
        for (Object[] c : cases) {
            ValueType type = (ValueType) c[0];
            ChunkState state = sixteenBitState(type, new Corpus(3).sixteenBitInitial(50, type));
            encoder.encode(new Corpus(4).sixteenBit(Corpus.Shape.MULTI_SCALE_GAUSSIAN, 50, type), state);
            ChunkState before = state.copy();
            float[] delta = new float[50];
            delta[17] = (float) c[1];
            assertThatThrownBy(() -> encoder.encode(delta, state)).as("%s %s", type, c[1])
                    .isInstanceOf(BadValueException.class).hasMessageContaining((String) c[2])
                    .satisfies(e -> assertThat(((BadValueException) e).index()).isEqualTo(17));
            assertThat(state).isEqualTo(before);
        }
        // a finite δ whose reconstruction would overflow float16
        ChunkState nearTheTop = ChunkState.float16(new float[] {1f, 65504f, 2f});
        ChunkState before = nearTheTop.copy();
        assertThatThrownBy(() -> encoder.encode(new float[] {0f, 40f, 0f}, nearTheTop))
                .isInstanceOf(BadValueException.class).hasMessageContaining("overflows FLOAT16");
        assertThat(nearTheTop).isEqualTo(before);
    }

    @Test
    void sixteenBitStatesRefuseValuesNotOfTheirType() {
        assertThatThrownBy(() -> ChunkState.bfloat16(new float[] {1f, 0.1f})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("value 1");
        assertThatThrownBy(() -> ChunkState.float16(new float[] {70000f})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChunkState.float16(new float[] {0x1p-25f})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChunkState.float16(new float[] {Float.POSITIVE_INFINITY})).isInstanceOf(IllegalArgumentException.class);
        assertThat(ChunkState.float16(new float[] {65504f, 0x1p-24f, -0f}).size()).isEqualTo(3);
    }

    @Test
    void sixteenBitRecordsAreVersionTwoAndRefusedAsVersionOne() {
        for (ValueType type : SIXTEEN_BIT) {
            ChunkState state = sixteenBitState(type, new float[40]);
            byte[] record = encoder.encode(new Corpus(5).sixteenBit(Corpus.Shape.MULTI_SCALE_GAUSSIAN, 40, type), state).record();
            assertThat(record[RecordFormat.OFFSET_VERSION]).isEqualTo((byte) 2);
            assertMalformedAt(edit(record, RecordFormat.OFFSET_VERSION, 1), 40, RecordFormat.OFFSET_VALUE_TYPE, "value type");
            assertMalformedAt(edit(record, RecordFormat.OFFSET_VERSION, 4), 40, RecordFormat.OFFSET_VERSION, "version 4");
            assertThatThrownBy(() -> decoder.apply(record, new double[40])).isInstanceOf(MalformedChunkException.class);
            // applyTo checks the state's type: a float32 state of the same size is not a 16-bit one
            assertThatThrownBy(() -> decoder.applyTo(record, ChunkState.float32(new float[40])))
                    .isInstanceOf(CodecException.class);
            ChunkState other = sixteenBitState(type == ValueType.BFLOAT16 ? ValueType.FLOAT16 : ValueType.BFLOAT16, new float[40]);
            assertThatThrownBy(() -> decoder.applyTo(record, other)).isInstanceOf(CodecException.class);
            assertThat(decoder.applyTo(record, sixteenBitState(type, new float[40]))).isEqualTo(state.approxChecksum());
        }
        ChunkState floats = ChunkState.float32(new float[40]);
        byte[] float32 = encoder.encode(new Corpus(5).floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, 40), floats).record();
        assertThat(float32[RecordFormat.OFFSET_VERSION]).as("float32 stays version 1").isEqualTo((byte) 1);
    }

    @Test
    void sixteenBitCorruptionIsATypedError() {
        SplittableRandom random = new SplittableRandom(17);
        for (ValueType type : SIXTEEN_BIT) {
            for (Corpus.Shape shape : new Corpus.Shape[] {Corpus.Shape.MULTI_SCALE_GAUSSIAN, Corpus.Shape.MOSTLY_ZEROS, Corpus.Shape.SUBNORMALS}) {
                ChunkState state = sixteenBitState(type, new float[300]);
                byte[] record = encoder.encode(new Corpus(6).sixteenBit(shape, 300, type), state).record();
                for (int length = 0; length < record.length; length++) {
                    assertTypedFailure(Arrays.copyOf(record, length), 300);
                }
                for (int trial = 0; trial < 200; trial++) {
                    byte[] corrupt = record.clone();
                    int bit = random.nextInt((corrupt.length - 4) * 8);
                    corrupt[bit >>> 3] ^= (byte) (1 << (bit & 7));
                    Records.resign(corrupt);
                    float[] decoded = new float[300];
                    Throwable thrown = catchThrowable(() -> decoder.apply(corrupt, decoded));
                    if (thrown == null) {
                        assertThat(Records.bits(decoded)).as("flip of bit %d", bit).isEqualTo(Records.bits(state.approxFloat()));
                    } else {
                        assertThat(thrown).as("flip of bit %d", bit).isInstanceOf(CodecException.class);
                    }
                }
            }
        }
    }

    EncodedChunk checkStep(double[] delta, ChunkState state) {
        double[] previousApprox = state.approxDouble().clone();
        double[] previousResidual = state.residualDouble().clone();
        EncodedChunk chunk = encoder.encode(delta, state);
        double[] sum = new double[delta.length];
        for (int i = 0; i < delta.length; i++) {
            sum[i] = delta[i] + previousResidual[i];
        }
        double[] q = ReferenceQuantizer.quantize(sum, options().promotionBits());
        double[] expectedResidual = new double[delta.length];
        double[] expectedApprox = new double[delta.length];
        for (int i = 0; i < delta.length; i++) {
            expectedResidual[i] = sum[i] - q[i];
            expectedApprox[i] = previousApprox[i] + q[i];
        }
        assertThat(Records.bits(state.residualDouble())).as("residual").isEqualTo(Records.bits(expectedResidual));
        assertThat(Records.bits(state.approxDouble())).as("reconstruction").isEqualTo(Records.bits(expectedApprox));
        double[] decoded = previousApprox.clone();
        decoder.apply(chunk.record(), decoded);
        assertThat(Records.bits(decoded)).as("decoded reconstruction").isEqualTo(Records.bits(state.approxDouble()));
        return chunk;
    }

    @Test
    void matchesTheReferenceOnEveryShapeAndSize() {
        Corpus corpus = new Corpus(42);
        for (Corpus.Shape shape : Corpus.Shape.values()) {
            for (int n : SIZES) {
                ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                checkStep(corpus.floats(shape, n), state);
                checkStep(corpus.floats(shape, n), state);
                ChunkState doubles = ChunkState.float64(corpus.doubles(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
                checkStep(corpus.doubles(shape, n), doubles);
                checkStep(corpus.doubles(shape, n), doubles);
            }
        }
    }

    @Test
    void aChainOfStepsDecodesToTheEncodersReconstruction() {
        Corpus corpus = new Corpus(7);
        int n = 5000;
        float[] initial = corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n);
        ChunkState state = ChunkState.float32(initial);
        float[] restored = initial.clone();
        for (int step = 0; step < 30; step++) {
            EncodedChunk chunk = encoder.encode(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n), state);
            decoder.apply(chunk.record(), restored);
        }
        assertThat(Records.bits(restored)).isEqualTo(Records.bits(state.approxFloat()));
    }

    @Test
    void everyTruncationIsATypedError() {
        for (byte[] record : sampleRecords()) {
            for (int length = 0; length < record.length; length++) {
                byte[] truncated = Arrays.copyOf(record, length);
                assertTypedFailure(truncated, ChunkDecoder.inspect(record).valueCount());
            }
        }
    }

    @Test
    void randomBitFlipsAreTypedErrorsOrChecksumFailures() {
        SplittableRandom random = new SplittableRandom(3);
        for (byte[] record : sampleRecords()) {
            int n = ChunkDecoder.inspect(record).valueCount();
            for (int trial = 0; trial < 300; trial++) {
                byte[] corrupt = record.clone();
                int flips = 1 + random.nextInt(4);
                java.util.Set<Integer> flipped = new java.util.HashSet<>();
                while (flipped.size() < flips) {
                    flipped.add(random.nextInt(corrupt.length * 8));
                }
                for (int bit : flipped) {
                    corrupt[bit >>> 3] ^= (byte) (1 << (bit & 7));
                }
                assertTypedFailure(corrupt, n);
            }
        }
    }

    @Test
    void corruptionBehindAValidRecordChecksumIsStillCaught() {
        // the record checksum would catch these first; re-signing them exercises the structural checks and the state checksum
        SplittableRandom random = new SplittableRandom(5);
        for (byte[] record : sampleRecords()) {
            int n = ChunkDecoder.inspect(record).valueCount();
            float[] truth = new float[n];
            decoder.apply(record, truth);
            for (int trial = 0; trial < 300; trial++) {
                byte[] corrupt = record.clone();
                int bit = random.nextInt((corrupt.length - 4) * 8);
                corrupt[bit >>> 3] ^= (byte) (1 << (bit & 7));
                Records.resign(corrupt);
                float[] decoded = new float[n];
                Throwable thrown = catchThrowable(() -> decoder.apply(corrupt, decoded));
                // either a typed error, or a flip that does not change what is rebuilt (e.g. the informational
                // promotion-bits byte): never a silently different state
                if (thrown == null) {
                    assertThat(Records.bits(decoded)).as("flip of bit %d decoded without error", bit).isEqualTo(Records.bits(truth));
                } else {
                    assertThat(thrown).as("flip of bit %d", bit).isInstanceOf(CodecException.class);
                }
            }
        }
    }

    @Test
    void handBuiltCorruptHeadersNameTheOffset() {
        byte[] record = sampleRecords().get(0);
        int n = ChunkDecoder.inspect(record).valueCount();
        assertMalformedAt(edit(record, 0, 'X'), n, 0, "magic");
        assertMalformedAt(edit(record, RecordFormat.OFFSET_VERSION, 4), n, RecordFormat.OFFSET_VERSION, "version 4");
        assertMalformedAt(edit(record, RecordFormat.OFFSET_VALUE_TYPE, 3), n, RecordFormat.OFFSET_VALUE_TYPE, "value type");
        assertMalformedAt(edit(record, RecordFormat.OFFSET_VALUE_TYPE, 9), n, RecordFormat.OFFSET_VALUE_TYPE, "value type");
        assertMalformedAt(edit(record, RecordFormat.OFFSET_FLAGS, 0x80), n, RecordFormat.OFFSET_FLAGS, "flags");
        assertMalformedAt(edit(record, RecordFormat.OFFSET_CODING, 7), n, RecordFormat.OFFSET_CODING, "coding");
        assertMalformedAt(edit(record, RecordFormat.OFFSET_RESERVED, 1), n, RecordFormat.OFFSET_RESERVED, "reserved");
        byte[] zeroCount = record.clone();
        LittleEndian.putInt(zeroCount, RecordFormat.OFFSET_VALUE_COUNT, 0);
        assertMalformedAt(Records.resign(zeroCount), n, RecordFormat.OFFSET_VALUE_COUNT, "value count");
        byte[] tooManySymbols = record.clone();
        LittleEndian.putShort(tooManySymbols, RecordFormat.OFFSET_SYMBOL_COUNT, 5000);
        assertMalformedAt(Records.resign(tooManySymbols), n, RecordFormat.OFFSET_SYMBOL_COUNT, "symbol count");
        byte[] trailing = Records.resign(Arrays.copyOf(record, record.length + 1));
        assertThat(catchThrowable(() -> decoder.apply(trailing, new float[n]))).isInstanceOf(CodecException.class);
    }

    @Test
    void aRecordForAnotherSizeOrTypeIsRefused() {
        byte[] record = sampleRecords().get(0);
        int n = ChunkDecoder.inspect(record).valueCount();
        assertThatThrownBy(() -> decoder.apply(record, new float[n + 1]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("values but the state has");
        assertThatThrownBy(() -> decoder.apply(record, new double[n]))
                .isInstanceOf(MalformedChunkException.class).hasMessageContaining("FLOAT32");
    }

    @Test
    void applyingToTheWrongPreviousStateFailsTheStateChecksum() {
        Corpus corpus = new Corpus(11);
        int n = 2000;
        ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
        float[] wrongPrevious = state.approxFloat().clone();
        wrongPrevious[n / 2] = Math.nextUp(wrongPrevious[n / 2]);
        EncodedChunk chunk = encoder.encode(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n), state);
        assertThatThrownBy(() -> decoder.apply(chunk.record(), wrongPrevious))
                .isInstanceOf(ChecksumMismatchException.class)
                .satisfies(e -> assertThat(((ChecksumMismatchException) e).kind()).isEqualTo(ChecksumMismatchException.Kind.RECONSTRUCTED_STATE));
    }

    @Test
    void badValuesAreRejectedWithTheIndexAndLeaveTheStateUntouched() {
        Corpus corpus = new Corpus(13);
        int n = 300;
        ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
        encoder.encode(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n), state); // non-zero residual
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            ChunkState before = state.copy();
            float[] delta = corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n);
            delta[123] = bad;
            delta[200] = Float.NaN;
            assertThatThrownBy(() -> encoder.encode(delta, state))
                    .isInstanceOf(BadValueException.class)
                    .satisfies(e -> assertThat(((BadValueException) e).index()).isEqualTo(123));
            assertThat(state).isEqualTo(before);
        }
        // a finite delta whose sum with the residual overflows
        ChunkState before = state.copy();
        state.residualFloat()[7] = Float.MAX_VALUE;
        float[] delta = new float[n];
        delta[7] = Float.MAX_VALUE;
        ChunkState poisoned = state.copy();
        assertThatThrownBy(() -> encoder.encode(delta, state))
                .isInstanceOf(BadValueException.class).hasMessageContaining("residual")
                .satisfies(e -> assertThat(((BadValueException) e).index()).isEqualTo(7));
        assertThat(state).isEqualTo(poisoned).isNotEqualTo(before);

        ChunkState doubles = ChunkState.float64(new double[n]);
        double[] doubleDelta = new double[n];
        doubleDelta[42] = Double.NaN;
        assertThatThrownBy(() -> encoder.encode(doubleDelta, doubles))
                .isInstanceOf(BadValueException.class)
                .satisfies(e -> assertThat(((BadValueException) e).index()).isEqualTo(42));
        assertThat(doubles).isEqualTo(ChunkState.float64(new double[n]));
    }

    @Test
    void callerMistakesAreIllegalArguments() {
        assertThatThrownBy(() -> encoder.encode(new float[3], ChunkState.float32(new float[4])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encoder.encode(new double[3], ChunkState.float32(new float[3])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encoder.encode(new float[0], ChunkState.float32(new float[0])))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Records of several codings and sizes for the corruption tests. */
    java.util.List<byte[]> sampleRecords() {
        Corpus corpus = new Corpus(99);
        java.util.List<byte[]> records = new java.util.ArrayList<>();
        for (Corpus.Shape shape : new Corpus.Shape[] {Corpus.Shape.MULTI_SCALE_GAUSSIAN, Corpus.Shape.MOSTLY_ZEROS, Corpus.Shape.CONSTANT, Corpus.Shape.RANDOM_BITS}) {
            for (int n : new int[] {300, 17}) {
                ChunkState state = ChunkState.float32(new float[n]);
                records.add(encoder.encode(corpus.floats(shape, n), state).record());
            }
        }
        return records;
    }

    private void assertTypedFailure(byte[] corrupt, int n) {
        Throwable thrown = catchThrowable(() -> decoder.apply(corrupt, new float[n]));
        assertThat(thrown).isInstanceOfAny(MalformedChunkException.class, ChecksumMismatchException.class);
    }

    private static byte[] edit(byte[] record, int offset, int value) {
        byte[] copy = record.clone();
        copy[offset] = (byte) value;
        return Records.resign(copy);
    }

    private void assertMalformedAt(byte[] record, int n, long offset, String reason) {
        assertThatThrownBy(() -> decoder.apply(record, new float[n]))
                .isInstanceOf(MalformedChunkException.class)
                .hasMessageContaining(reason.split(" ")[0])
                .satisfies(e -> assertThat(((MalformedChunkException) e).offset()).isEqualTo(offset));
    }
}
