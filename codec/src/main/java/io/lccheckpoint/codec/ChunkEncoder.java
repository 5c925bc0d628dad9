package io.lccheckpoint.codec;

import java.util.Arrays;

/**
 * Encodes one step of one chunk with error feedback (DESIGN.md §2): {@code δ = delta + r}, exponent buckets, priority
 * promotion, then Huffman or zero-run coding; updates the state's residual {@code r = δ − Q(δ)} and reconstruction
 * {@code ũ += Q(δ)} and returns the record. The record is a pure function of (options, delta, state): same bytes on any
 * machine, thread or JDK.
 *
 * <p>An encoder holds reusable scratch space and is not thread-safe; use one per thread. On {@link BadValueException}
 * the state is left untouched.
 */
public final class ChunkEncoder {
    private static final int LANES = 4;
    private static final int FLOAT_KEYS = ValueType.FLOAT32.keyCount();
    private static final int DOUBLE_KEYS = ValueType.FLOAT64.keyCount();

    private final CodecOptions options;
    private final PriorityPromotion promotion = new PriorityPromotion();
    private final HuffmanTable symbolTable = new HuffmanTable();
    private final HuffmanTable runTable = new HuffmanTable();
    private final HuffmanTable nonZeroTable = new HuffmanTable();
    private final BitWriter bitWriter = new BitWriter();
    private final StateChecksum stateChecksum = new StateChecksum();

    // pass A: per-lane histograms break the store-to-load chains of runs of equal keys
    private final int[] laneCounts = new int[LANES * DOUBLE_KEYS];
    private final int[] laneMinFloat = new int[LANES * FLOAT_KEYS];
    private final int[] laneMaxFloat = new int[LANES * FLOAT_KEYS];
    private final long[] laneMinDouble = new long[LANES * DOUBLE_KEYS];
    private final long[] laneMaxDouble = new long[LANES * DOUBLE_KEYS];
    private final long[] keyCounts = new long[DOUBLE_KEYS];
    private final float[] symbolRepFloat = new float[HuffmanTable.MAX_SYMBOLS];
    private final double[] symbolRepDouble = new double[HuffmanTable.MAX_SYMBOLS];
    private final float[] keyRepFloat = new float[FLOAT_KEYS];
    private final double[] keyRepDouble = new double[DOUBLE_KEYS];
    private final int[] keyCode = new int[DOUBLE_KEYS];
    private final long[] runClassCounts = new long[RunLengthClasses.MAX_CLASSES];
    private final long[] nonZeroSymbolCounts = new long[HuffmanTable.MAX_SYMBOLS];

    // grown to the largest chunk seen
    private float[] deltaFloat = new float[0];
    private double[] deltaDouble = new double[0];
    private short[] keys = new short[0];
    private int[] nonZeroPositions = new int[0];
    private byte[] payload = new byte[0];

    // outcome of the coding step
    private Coding coding;
    private int constantSymbol;
    private int payloadLength;
    private int nonZeroCount;
    private int runClassCount;

    public ChunkEncoder(CodecOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        this.options = options;
    }

    public CodecOptions options() {
        return options;
    }

    public EncodedChunk encode(float[] delta, ChunkState state) {
        checkArguments(delta.length, state, ValueType.FLOAT32);
        int n = delta.length;
        grow(n, ValueType.FLOAT32);
        float[] residual = state.residualFloat();
        float[] approx = state.approxFloat();

        accumulateFloat(delta, residual, n);
        mergeLaneCounts(FLOAT_KEYS);
        if (keyCounts[ValueType.FLOAT32.specialExponent()] + keyCounts[FLOAT_KEYS - 1] > 0) {
            throw badValue(delta, residual);
        }
        promotion.assign(keyCounts, ValueType.FLOAT32, options.promotionBits());
        representativesFloat();
        codeSymbols(n);

        // pass B: r = δ − Q(δ) (exact: same binade, Sterbenz), ũ += Q(δ); the zero bucket's value is −0.0 (identity)
        float[] d = deltaFloat;
        short[] k = keys;
        float[] rep = keyRepFloat;
        for (int i = 0; i < n; i++) {
            float q = rep[k[i]];
            residual[i] = d[i] - q;
            approx[i] += q;
        }
        int checksum = stateChecksum.of(approx, n);
        return assemble(ValueType.FLOAT32, n, checksum);
    }

    public EncodedChunk encode(double[] delta, ChunkState state) {
        checkArguments(delta.length, state, ValueType.FLOAT64);
        int n = delta.length;
        grow(n, ValueType.FLOAT64);
        double[] residual = state.residualDouble();
        double[] approx = state.approxDouble();

        accumulateDouble(delta, residual, n);
        mergeLaneCounts(DOUBLE_KEYS);
        if (keyCounts[ValueType.FLOAT64.specialExponent()] + keyCounts[DOUBLE_KEYS - 1] > 0) {
            throw badValue(delta, residual);
        }
        promotion.assign(keyCounts, ValueType.FLOAT64, options.promotionBits());
        representativesDouble();
        codeSymbols(n);

        double[] d = deltaDouble;
        short[] k = keys;
        double[] rep = keyRepDouble;
        for (int i = 0; i < n; i++) {
            double q = rep[k[i]];
            residual[i] = d[i] - q;
            approx[i] += q;
        }
        int checksum = stateChecksum.of(approx, n);
        return assemble(ValueType.FLOAT64, n, checksum);
    }

    private static void checkArguments(int n, ChunkState state, ValueType type) {
        if (state.type() != type) {
            throw new IllegalArgumentException("delta is " + type + " but the chunk state holds " + state.type());
        }
        if (n != state.size()) {
            throw new IllegalArgumentException("delta has " + n + " values but the chunk state has " + state.size());
        }
        if (n < 1 || n > RecordFormat.MAX_VALUES) {
            throw new IllegalArgumentException("a chunk holds 1.." + RecordFormat.MAX_VALUES + " values, got " + n);
        }
    }

    private void grow(int n, ValueType type) {
        if (keys.length < n) {
            keys = new short[n];
        }
        if (type == ValueType.FLOAT32 && deltaFloat.length < n) {
            deltaFloat = new float[n];
        }
        if (type == ValueType.FLOAT64 && deltaDouble.length < n) {
            deltaDouble = new double[n];
        }
    }

    // ---- pass A: δ = delta + r, bucket keys, histogram, min/max magnitude per bucket ----

    private void accumulateFloat(float[] delta, float[] residual, int n) {
        int[] counts = laneCounts;
        int[] min = laneMinFloat;
        int[] max = laneMaxFloat;
        Arrays.fill(counts, 0, LANES * FLOAT_KEYS, 0);
        Arrays.fill(min, Integer.MAX_VALUE);
        Arrays.fill(max, 0);
        float[] d = deltaFloat;
        short[] k = keys;
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            for (int lane = 0; lane < LANES; lane++) {
                float v = delta[i + lane] + residual[i + lane];
                int bits = Float.floatToRawIntBits(v);
                int key = bits >>> 23;
                int slot = lane * FLOAT_KEYS + key;
                int magnitude = bits & 0x7FFF_FFFF;
                d[i + lane] = v;
                k[i + lane] = (short) key;
                counts[slot]++;
                min[slot] = Math.min(min[slot], magnitude);
                max[slot] = Math.max(max[slot], magnitude);
            }
        }
        for (; i < n; i++) {
            float v = delta[i] + residual[i];
            int bits = Float.floatToRawIntBits(v);
            int key = bits >>> 23;
            int magnitude = bits & 0x7FFF_FFFF;
            d[i] = v;
            k[i] = (short) key;
            counts[key]++;
            min[key] = Math.min(min[key], magnitude);
            max[key] = Math.max(max[key], magnitude);
        }
    }

    private void accumulateDouble(double[] delta, double[] residual, int n) {
        int[] counts = laneCounts;
        long[] min = laneMinDouble;
        long[] max = laneMaxDouble;
        Arrays.fill(counts, 0);
        Arrays.fill(min, Long.MAX_VALUE);
        Arrays.fill(max, 0);
        double[] d = deltaDouble;
        short[] k = keys;
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            for (int lane = 0; lane < LANES; lane++) {
                double v = delta[i + lane] + residual[i + lane];
                long bits = Double.doubleToRawLongBits(v);
                int key = (int) (bits >>> 52);
                int slot = lane * DOUBLE_KEYS + key;
                long magnitude = bits & 0x7FFF_FFFF_FFFF_FFFFL;
                d[i + lane] = v;
                k[i + lane] = (short) key;
                counts[slot]++;
                min[slot] = Math.min(min[slot], magnitude);
                max[slot] = Math.max(max[slot], magnitude);
            }
        }
        for (; i < n; i++) {
            double v = delta[i] + residual[i];
            long bits = Double.doubleToRawLongBits(v);
            int key = (int) (bits >>> 52);
            long magnitude = bits & 0x7FFF_FFFF_FFFF_FFFFL;
            d[i] = v;
            k[i] = (short) key;
            counts[key]++;
            min[key] = Math.min(min[key], magnitude);
            max[key] = Math.max(max[key], magnitude);
        }
    }

    private void mergeLaneCounts(int keyCount) {
        for (int key = 0; key < keyCount; key++) {
            long total = 0;
            for (int lane = 0; lane < LANES; lane++) {
                total += laneCounts[lane * keyCount + key];
            }
            keyCounts[key] = total;
        }
    }

    private static BadValueException badValue(float[] delta, float[] residual) {
        for (int i = 0; i < delta.length; i++) {
            if (!Float.isFinite(delta[i])) {
                return new BadValueException(i, delta[i], Float.isNaN(delta[i]) ? "delta is NaN" : "delta is infinite");
            }
            if (!Float.isFinite(delta[i] + residual[i])) {
                return new BadValueException(i, delta[i], "delta + carried residual (" + residual[i] + ") is not finite");
            }
        }
        throw new AssertionError("a non-finite bucket was counted but no non-finite value found");
    }

    private static BadValueException badValue(double[] delta, double[] residual) {
        for (int i = 0; i < delta.length; i++) {
            if (!Double.isFinite(delta[i])) {
                return new BadValueException(i, delta[i], Double.isNaN(delta[i]) ? "delta is NaN" : "delta is infinite");
            }
            if (!Double.isFinite(delta[i] + residual[i])) {
                return new BadValueException(i, delta[i], "delta + carried residual (" + residual[i] + ") is not finite");
            }
        }
        throw new AssertionError("a non-finite bucket was counted but no non-finite value found");
    }

    // ---- representatives: midpoint of the bucket's min and max (the paper's rule) ----

    private void representativesFloat() {
        int first = promotion.hasZeroSymbol ? 1 : 0;
        if (promotion.hasZeroSymbol) {
            symbolRepFloat[0] = -0.0f;
        }
        for (int s = first; s < promotion.symbolCount; s++) {
            int key = promotion.symbolKey[s];
            int lo = Integer.MAX_VALUE;
            int hi = 0;
            for (int lane = 0; lane < LANES; lane++) {
                lo = Math.min(lo, laneMinFloat[lane * FLOAT_KEYS + key]);
                hi = Math.max(hi, laneMaxFloat[lane * FLOAT_KEYS + key]);
            }
            float low = Float.intBitsToFloat(lo);
            float high = Float.intBitsToFloat(hi);
            float mid = low + (high - low) * 0.5f;
            symbolRepFloat[s] = (key >>> 8) != 0 ? -mid : mid;
        }
        for (int key = 0; key < FLOAT_KEYS; key++) {
            keyRepFloat[key] = keyCounts[key] == 0 ? 0f : symbolRepFloat[promotion.keyToSymbol[key]];
        }
    }

    private void representativesDouble() {
        int first = promotion.hasZeroSymbol ? 1 : 0;
        if (promotion.hasZeroSymbol) {
            symbolRepDouble[0] = -0.0;
        }
        for (int s = first; s < promotion.symbolCount; s++) {
            int key = promotion.symbolKey[s];
            long lo = Long.MAX_VALUE;
            long hi = 0;
            for (int lane = 0; lane < LANES; lane++) {
                lo = Math.min(lo, laneMinDouble[lane * DOUBLE_KEYS + key]);
                hi = Math.max(hi, laneMaxDouble[lane * DOUBLE_KEYS + key]);
            }
            double low = Double.longBitsToDouble(lo);
            double high = Double.longBitsToDouble(hi);
            double mid = low + (high - low) * 0.5;
            symbolRepDouble[s] = (key >>> 11) != 0 ? -mid : mid;
        }
        for (int key = 0; key < DOUBLE_KEYS; key++) {
            keyRepDouble[key] = keyCounts[key] == 0 ? 0.0 : symbolRepDouble[promotion.keyToSymbol[key]];
        }
    }

    // ---- coding: CONSTANT, HUFFMAN or ZERO_RUN, whichever the options allow and is smallest ----

    private void codeSymbols(int n) {
        int symbolCount = promotion.symbolCount;
        long[] counts = promotion.symbolCounts;
        int used = 0;
        for (int s = 0; s < symbolCount; s++) {
            if (counts[s] > 0) {
                used++;
                constantSymbol = s;
            }
        }
        if (used == 1) {
            coding = Coding.CONSTANT;
            payloadLength = 0;
            return;
        }
        symbolTable.buildFromCounts(counts, symbolCount, HuffmanTable.MAX_CODE_LENGTH);
        long huffmanBits = symbolTable.encodedBits(counts);
        long huffmanBytes = HuffmanTable.lengthsBytes(symbolCount) + 4 + ((huffmanBits + 7) >>> 3);

        if (options.entropy() == EntropyMode.ZERO_RUN && promotion.hasZeroSymbol && counts[0] > 0) {
            long zeroRunBytes = planZeroRun(n);
            if (zeroRunBytes < huffmanBytes) {
                emitZeroRun(n);
                coding = Coding.ZERO_RUN;
                return;
            }
        }
        emitHuffman(n, huffmanBits);
        coding = Coding.HUFFMAN;
    }

    private void emitHuffman(int n, long bits) {
        for (int key = 0; key < keyCode.length; key++) {
            if (keyCounts[key] > 0) {
                int s = promotion.keyToSymbol[key];
                keyCode[key] = symbolTable.codes[s] | (symbolTable.lengths[s] << 16);
            }
        }
        ensurePayload(bits);
        byte[] out = payload;
        short[] k = keys;
        int[] table = keyCode;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        for (int i = 0; i < n; i++) {
            int entry = table[k[i]];
            container |= (long) (entry & 0xFFFF) << bitCount;
            bitCount += entry >>> 16;
            if (bitCount >= 32) {
                LittleEndian.putInt(out, position, (int) container);
                position += 4;
                container >>>= 32;
                bitCount -= 32;
            }
        }
        while (bitCount > 0) {
            out[position++] = (byte) container;
            container >>>= 8;
            bitCount -= 8;
        }
        payloadLength = position;
    }

    /** Collects the non-zero positions, builds the run-class and non-zero-symbol codes, returns the section's size. */
    private long planZeroRun(int n) {
        long nonZeros = n - promotion.symbolCounts[0];
        if (nonZeroPositions.length < nonZeros) {
            nonZeroPositions = new int[(int) nonZeros];
        }
        int[] positions = nonZeroPositions;
        int[] keyToSymbol = promotion.keyToSymbol;
        short[] k = keys;
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (keyToSymbol[k[i]] != 0) {
                positions[m++] = i;
            }
        }
        nonZeroCount = m;

        Arrays.fill(runClassCounts, 0);
        long extraBits = 0;
        int previousEnd = 0;
        int maxClass = 0;
        for (int j = 0; j < m; j++) {
            int runClass = RunLengthClasses.classOf(positions[j] - previousEnd + 1);
            runClassCounts[runClass]++;
            extraBits += RunLengthClasses.extraBits(runClass);
            maxClass = Math.max(maxClass, runClass);
            previousEnd = positions[j] + 1;
        }
        if (previousEnd < n) {
            int runClass = RunLengthClasses.classOf(n - previousEnd + 1);
            runClassCounts[runClass]++;
            extraBits += RunLengthClasses.extraBits(runClass);
            maxClass = Math.max(maxClass, runClass);
        }
        runClassCount = maxClass + 1;
        int nonZeroAlphabet = promotion.symbolCount - 1;
        System.arraycopy(promotion.symbolCounts, 1, nonZeroSymbolCounts, 0, nonZeroAlphabet);

        long bits = extraBits;
        long header = 1 + alphabet(runTable, runClassCounts, runClassCount)
                + alphabet(nonZeroTable, nonZeroSymbolCounts, nonZeroAlphabet) + 4 + 4;
        bits += runTable.encodedBits(runClassCounts) + nonZeroTable.encodedBits(nonZeroSymbolCounts);
        return header + ((bits + 7) >>> 3);
    }

    /** Builds the code of one zero-run alphabet; returns its description's size in bytes (FORMAT.md §4.3). */
    private static int alphabet(HuffmanTable table, long[] counts, int size) {
        int used = 0;
        int last = 0;
        for (int s = 0; s < size; s++) {
            if (counts[s] > 0) {
                used++;
                last = s;
            }
        }
        if (used == 1) {
            table.buildSingle(last, size);
            return 1 + 2;
        }
        table.buildFromCounts(counts, size, HuffmanTable.MAX_CODE_LENGTH);
        return 1 + HuffmanTable.lengthsBytes(size);
    }

    private void emitZeroRun(int n) {
        ensurePayload(runTable.encodedBits(runClassCounts) + nonZeroTable.encodedBits(nonZeroSymbolCounts)
                + 32L * (nonZeroCount + 1));
        BitWriter out = bitWriter;
        out.reset(payload, 0);
        int[] positions = nonZeroPositions;
        int[] keyToSymbol = promotion.keyToSymbol;
        int previousEnd = 0;
        for (int j = 0; j < nonZeroCount; j++) {
            int position = positions[j];
            writeRun(out, position - previousEnd + 1);
            int symbol = keyToSymbol[keys[position]] - 1;
            out.write(nonZeroTable.codes[symbol], nonZeroTable.lengths[symbol]);
            previousEnd = position + 1;
        }
        if (previousEnd < n) {
            writeRun(out, n - previousEnd + 1);
        }
        payloadLength = out.finish();
    }

    private void writeRun(BitWriter out, int v) {
        int runClass = RunLengthClasses.classOf(v);
        out.write(runTable.codes[runClass], runTable.lengths[runClass]);
        int extra = RunLengthClasses.extraBits(runClass);
        if (extra > 0) {
            out.write((int) (v - RunLengthClasses.base(runClass)), extra);
        }
    }

    private void ensurePayload(long bits) {
        int needed = BitWriter.maxBytes(bits);
        if (payload.length < needed) {
            payload = new byte[needed];
        }
    }

    // ---- record assembly (FORMAT.md §2) ----

    private EncodedChunk assemble(ValueType type, int n, int stateChecksum) {
        int symbolCount = promotion.symbolCount;
        int first = promotion.hasZeroSymbol ? 1 : 0;
        int sectionBytes = switch (coding) {
            case CONSTANT -> 2;
            case HUFFMAN -> HuffmanTable.lengthsBytes(symbolCount) + 4 + payloadLength;
            case ZERO_RUN -> 1 + alphabetBytes(runTable, runClassCount) + alphabetBytes(nonZeroTable, symbolCount - 1) + 4 + 4 + payloadLength;
        };
        int length = RecordFormat.OFFSET_REPRESENTATIVES + (symbolCount - first) * type.bytes + sectionBytes + RecordFormat.TRAILER_BYTES;
        byte[] record = new byte[length];
        record[0] = (byte) RecordFormat.MAGIC_0;
        record[1] = (byte) RecordFormat.MAGIC_1;
        record[RecordFormat.OFFSET_VERSION] = (byte) RecordFormat.VERSION;
        record[RecordFormat.OFFSET_VALUE_TYPE] = (byte) type.wireCode;
        record[RecordFormat.OFFSET_FLAGS] = (byte) (promotion.hasZeroSymbol ? RecordFormat.FLAG_ZERO_SYMBOL : 0);
        record[RecordFormat.OFFSET_CODING] = (byte) coding.wireCode;
        record[RecordFormat.OFFSET_PROMOTION_BITS] = (byte) options.promotionBits();
        LittleEndian.putInt(record, RecordFormat.OFFSET_VALUE_COUNT, n);
        LittleEndian.putShort(record, RecordFormat.OFFSET_SYMBOL_COUNT, symbolCount);
        int offset = RecordFormat.OFFSET_REPRESENTATIVES;
        for (int s = first; s < symbolCount; s++) {
            if (type == ValueType.FLOAT32) {
                LittleEndian.putInt(record, offset, Float.floatToRawIntBits(symbolRepFloat[s]));
            } else {
                LittleEndian.putLong(record, offset, Double.doubleToRawLongBits(symbolRepDouble[s]));
            }
            offset += type.bytes;
        }
        switch (coding) {
            case CONSTANT -> {
                LittleEndian.putShort(record, offset, constantSymbol);
                offset += 2;
            }
            case HUFFMAN -> {
                offset = symbolTable.writeLengths(record, offset);
                LittleEndian.putInt(record, offset, payloadLength);
                offset += 4;
            }
            case ZERO_RUN -> {
                record[offset++] = (byte) runClassCount;
                offset = writeAlphabet(runTable, record, offset);
                offset = writeAlphabet(nonZeroTable, record, offset);
                LittleEndian.putInt(record, offset, nonZeroCount);
                offset += 4;
                LittleEndian.putInt(record, offset, payloadLength);
                offset += 4;
            }
        }
        System.arraycopy(payload, 0, record, offset, payloadLength);
        offset += payloadLength;
        LittleEndian.putInt(record, offset, stateChecksum);
        offset += 4;
        LittleEndian.putInt(record, offset, StateChecksum.ofRecordBytes(record, offset));
        return new EncodedChunk(record, coding, Arrays.copyOf(promotion.symbolCounts, symbolCount), promotion.hasZeroSymbol);
    }

    private static int alphabetBytes(HuffmanTable table, int size) {
        return table.tableLog == 0 ? 1 + 2 : 1 + HuffmanTable.lengthsBytes(size);
    }

    private static int writeAlphabet(HuffmanTable table, byte[] record, int offset) {
        if (table.tableLog == 0) {
            record[offset++] = (byte) RecordFormat.ALPHABET_SINGLE;
            int symbol = table.decodeTable[0] >>> 4;
            LittleEndian.putShort(record, offset, symbol);
            return offset + 2;
        }
        record[offset++] = (byte) RecordFormat.ALPHABET_HUFFMAN;
        return table.writeLengths(record, offset);
    }
}
