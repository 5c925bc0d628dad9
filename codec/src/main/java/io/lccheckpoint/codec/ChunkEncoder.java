package io.lccheckpoint.codec;

import java.util.Arrays;

/**
 * Encodes one step of one chunk with error feedback (DESIGN.md §2): {@code δ = delta + r}, exponent buckets, priority
 * promotion, then Huffman or zero-run coding; updates the state's residual {@code r = δ − Q(δ)} and reconstruction
 * {@code ũ += Q(δ)} and returns the record. The record is a pure function of (options, delta, state): same bytes on any
 * machine, thread or JDK.
 *
 * <p>Two passes over the values: pass A builds the bucket histogram (and rejects bad values before anything changes);
 * pass B recomputes δ, updates residual and reconstruction and emits the codes. An encoder holds reusable scratch space
 * and is not thread-safe; use one per thread. On {@link BadValueException} the state is left untouched.
 *
 * <p>Why one long class: what could leave it already has (promotion, code tables and run classes are their
 * own classes); what is left are the passes themselves, which share this encoder's scratch state (histogram lanes,
 * representatives, the plan, the payload). Each pass exists twice, for float32 and float64: Java's primitive arrays share
 * no type, and a generic pass would box every value. The twins are kept the same line for line (every speed-up is in
 * both; the contract tests, the property tests and the golden hashes run both types).
 */
public final class ChunkEncoder {
    private static final int FLOAT_KEYS = ValueType.FLOAT32.keyCount();
    private static final int DOUBLE_KEYS = ValueType.FLOAT64.keyCount();
    /** Histogram lanes: consecutive values land in different copies, which breaks store-to-load chains. */
    private static final int LANES = 4;
    /** Alphabets up to this size (promotion ≤ 3 bits) get codes of at most 6 bits: +0.2% size at 3 bits, measured. */
    private static final int SHORT_CODE_ALPHABET = 8;

    /** Huffman is written from the collected non-zeros above this fraction of zeros (where pass B's fast path runs). */
    private static final double SPARSE_HUFFMAN_ZEROS = 0.95;

    private enum Plan { CONSTANT, DENSE, SPARSE }

    private final CodecOptions options;
    private final PriorityPromotion promotion = new PriorityPromotion();
    /** ũ's XXH64, taken a block at a time in pass B while the block is still in the cache (float32 and float64) */
    private final StateChecksum.Running running = new StateChecksum.Running();
    private final HuffmanTable symbolTable = new HuffmanTable();
    private final HuffmanTable runTable = new HuffmanTable();
    private final HuffmanTable nonZeroTable = new HuffmanTable();

    private final int[] laneCounts = new int[LANES * DOUBLE_KEYS];
    private final long[] keyCounts = new long[DOUBLE_KEYS];
    private final int[] minFloat = new int[FLOAT_KEYS];
    private final int[] maxFloat = new int[FLOAT_KEYS];
    private final long[] minDouble = new long[DOUBLE_KEYS];
    private final long[] maxDouble = new long[DOUBLE_KEYS];
    /** Pass A with promotion: a block's values that may be in a kept bucket (histogramTop). */
    private final int[] blockBits = new int[TOP_BLOCK];
    private final long[] blockBitsDouble = new long[TOP_BLOCK];
    private final float[] symbolRepFloat = new float[HuffmanTable.MAX_SYMBOLS];
    private final double[] symbolRepDouble = new double[HuffmanTable.MAX_SYMBOLS];
    private final long[] symbolRepLong = new long[HuffmanTable.MAX_SYMBOLS];
    private final float[] keyRepFloat = new float[FLOAT_KEYS];
    private final double[] keyRepDouble = new double[DOUBLE_KEYS];
    /** Per bucket key: code | length << 16 of its symbol. */
    private final int[] keyCode = new int[DOUBLE_KEYS];
    private final long[] runClassCounts = new long[RunLengthClasses.MAX_CLASSES];
    private final long[] nonZeroSymbolCounts = new long[HuffmanTable.MAX_SYMBOLS];
    private final int[] rank = new int[HuffmanTable.MAX_SYMBOLS];

    // grown to the largest chunk seen
    private int[] nonZeroPositions = new int[0];
    private short[] nonZeroSymbols = new short[0];
    private byte[] payload = new byte[0];

    // outcome of the coding step
    private Plan plan;
    private Coding coding;
    private int constantSymbol;
    private long huffmanBits;
    private int payloadLength;
    private int nonZeroCount;
    private int runClassCount;
    private boolean tableReused;
    private boolean zeroRunAllowed;
    /** Bucket keys of the type being coded (0 for an exact type): the span of keyCode that pass B may look up. */
    private int keySpace;

    public ChunkEncoder(CodecOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        this.options = options;
    }

    public CodecOptions options() {
        return options;
    }

    /**
     * Codes a delta given as little-endian values (a raw-delta record's bytes, FORMAT.md §1): float64 for a FLOAT64
     * state, integers of the type's width (the difference modulo 2^(8B)) for an exact type, float32 for every other.
     */
    public EncodedChunk encodeLittleEndian(java.nio.ByteBuffer delta, ChunkState state) {
        if (state.type().isExact()) {
            return encode(LittleEndian.integers(state.type().bytes, delta), state);
        }
        java.nio.ByteBuffer bytes = delta.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (state.type() != ValueType.FLOAT64) {
            // float32 values, also for a 16-bit state (see encode(float[], ChunkState))
            float[] values = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(values);
            return encode(values, state);
        }
        double[] values = new double[bytes.remaining() / 8];
        bytes.asDoubleBuffer().get(values);
        return encode(values, state);
    }

    /**
     * Codes a float32 delta against a FLOAT32, BFLOAT16 or FLOAT16 state. A 16-bit chunk's delta is float32: the
     * difference of two of its values is not a value of the type (FORMAT.md §1).
     */
    public EncodedChunk encode(float[] delta, ChunkState state) {
        if (state.type().isSixteenBit()) {
            return encodeSixteenBit(delta, state);
        }
        checkArguments(delta.length, state, ValueType.FLOAT32);
        int n = delta.length;
        float[] residual = state.residualFloat();
        float[] approx = state.approxFloat();
        keySpace = FLOAT_KEYS;

        if (options.promotionBits() > 0) {
            histogramTop(delta, residual, n, keptKeys());
        } else {
            histogram(delta, residual, n);
        }
        mergeLaneCounts(FLOAT_KEYS);
        if (keyCounts[ValueType.FLOAT32.specialExponent()] + keyCounts[FLOAT_KEYS - 1] > 0) {
            throw badValue(delta, residual);
        }
        promotion.assign(keyCounts, ValueType.FLOAT32, options.promotionBits());
        countZeroSymbol(n);
        representativesFloat();
        planCoding(n, state);
        running.start();
        switch (plan) {
            case CONSTANT -> update(delta, residual, approx, n);
            case DENSE -> updateAndEmit(delta, residual, approx, n);
            case SPARSE -> updateAndCollect(delta, residual, approx, n);
        }
        finishCoding(n);
        return assemble(ValueType.FLOAT32, n, running.finish(approx, n));
    }

    public EncodedChunk encode(double[] delta, ChunkState state) {
        checkArguments(delta.length, state, ValueType.FLOAT64);
        int n = delta.length;
        double[] residual = state.residualDouble();
        double[] approx = state.approxDouble();
        keySpace = DOUBLE_KEYS;

        if (options.promotionBits() > 0) {
            histogramTop(delta, residual, n, keptKeys());
        } else {
            histogram(delta, residual, n);
        }
        mergeLaneCounts(DOUBLE_KEYS);
        if (keyCounts[ValueType.FLOAT64.specialExponent()] + keyCounts[DOUBLE_KEYS - 1] > 0) {
            throw badValue(delta, residual);
        }
        promotion.assign(keyCounts, ValueType.FLOAT64, options.promotionBits());
        countZeroSymbol(n);
        representativesDouble();
        planCoding(n, state);
        running.start();
        switch (plan) {
            case CONSTANT -> update(delta, residual, approx, n);
            case DENSE -> updateAndEmit(delta, residual, approx, n);
            case SPARSE -> updateAndCollect(delta, residual, approx, n);
        }
        finishCoding(n);
        return assemble(ValueType.FLOAT64, n, running.finish(approx, n));
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

    // ---- pass A: δ = delta + r, bucket key = sign and exponent bits, histogram and min/max magnitude per bucket.
    // Min and max are updated only when exceeded, which is rare after a bucket's first values: no store per value.

    private void histogram(float[] delta, float[] residual, int n) {
        int[] counts = laneCounts;
        int[] min = minFloat;
        int[] max = maxFloat;
        Arrays.fill(counts, 0, LANES * FLOAT_KEYS, 0);
        Arrays.fill(min, Integer.MAX_VALUE);
        Arrays.fill(max, -1);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            int b0 = Float.floatToRawIntBits(delta[i] + residual[i]);
            int b1 = Float.floatToRawIntBits(delta[i + 1] + residual[i + 1]);
            int b2 = Float.floatToRawIntBits(delta[i + 2] + residual[i + 2]);
            int b3 = Float.floatToRawIntBits(delta[i + 3] + residual[i + 3]);
            counts[b0 >>> 23]++;
            counts[FLOAT_KEYS + (b1 >>> 23)]++;
            counts[2 * FLOAT_KEYS + (b2 >>> 23)]++;
            counts[3 * FLOAT_KEYS + (b3 >>> 23)]++;
            track(min, max, b0);
            track(min, max, b1);
            track(min, max, b2);
            track(min, max, b3);
        }
        for (; i < n; i++) {
            int bits = Float.floatToRawIntBits(delta[i] + residual[i]);
            counts[bits >>> 23]++;
            track(min, max, bits);
        }
    }

    private static void track(int[] min, int[] max, int bits) {
        int key = bits >>> 23;
        int magnitude = bits & 0x7FFF_FFFF;
        if (magnitude < min[key]) {
            min[key] = magnitude;
        }
        if (magnitude > max[key]) {
            max[key] = magnitude;
        }
    }

    private void histogram(double[] delta, double[] residual, int n) {
        int[] counts = laneCounts;
        long[] min = minDouble;
        long[] max = maxDouble;
        Arrays.fill(counts, 0);
        Arrays.fill(min, Long.MAX_VALUE);
        Arrays.fill(max, -1);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            long b0 = Double.doubleToRawLongBits(delta[i] + residual[i]);
            long b1 = Double.doubleToRawLongBits(delta[i + 1] + residual[i + 1]);
            long b2 = Double.doubleToRawLongBits(delta[i + 2] + residual[i + 2]);
            long b3 = Double.doubleToRawLongBits(delta[i + 3] + residual[i + 3]);
            counts[(int) (b0 >>> 52)]++;
            counts[DOUBLE_KEYS + (int) (b1 >>> 52)]++;
            counts[2 * DOUBLE_KEYS + (int) (b2 >>> 52)]++;
            counts[3 * DOUBLE_KEYS + (int) (b3 >>> 52)]++;
            track(min, max, b0);
            track(min, max, b1);
            track(min, max, b2);
            track(min, max, b3);
        }
        for (; i < n; i++) {
            long bits = Double.doubleToRawLongBits(delta[i] + residual[i]);
            counts[(int) (bits >>> 52)]++;
            track(min, max, bits);
        }
    }

    private static void track(long[] min, long[] max, long bits) {
        int key = (int) (bits >>> 52);
        long magnitude = bits & 0x7FFF_FFFF_FFFF_FFFFL;
        if (magnitude < min[key]) {
            min[key] = magnitude;
        }
        if (magnitude > max[key]) {
            max[key] = magnitude;
        }
    }

    // ---- pass A with promotion (x > 0 bits): only the 2^x − 1 present buckets of largest exponent become symbols, and
    // every other value is the zero bucket's whatever its bucket. A bucket ranked below the (2^x − 1)-th present bucket
    // seen so far can never be kept (more buckets only push it further down), so a value whose exponent is below that
    // bucket's needs no count and no min/max. The kept buckets are counted and tracked in full (their exponents never
    // fall below the threshold, which only rises); the zero bucket's count is n minus theirs (countZeroSymbol).
    // A block of values is read once, keeping those that reach the threshold without a branch (how many do varies too
    // much for a branch to predict); they are then counted and tracked as the plain histogram does, four at a time. The
    // threshold is raised once a block, after it, when the block brought a bucket not seen before: any threshold at or
    // below the true one only lets more values through, so the kept buckets' counts and min/max are the same. ----

    private static final int TOP_BLOCK = 1024;

    /** The number of buckets promotion keeps: 2^x − 1. */
    private int keptKeys() {
        return (1 << options.promotionBits()) - 1;
    }

    private void histogramTop(float[] delta, float[] residual, int n, int kept) {
        int[] counts = laneCounts;
        int[] min = minFloat;
        int[] max = maxFloat;
        int[] candidates = blockBits;
        Arrays.fill(counts, 0, LANES * FLOAT_KEYS, 0);
        Arrays.fill(min, Integer.MAX_VALUE);
        Arrays.fill(max, -1);
        int threshold = 0; // magnitude bits below which a value cannot be in a kept bucket
        for (int block = 0; block < n; block += TOP_BLOCK) {
            int end = Math.min(n, block + TOP_BLOCK);
            int m = 0;
            for (int i = block; i < end; i++) {
                int bits = Float.floatToRawIntBits(delta[i] + residual[i]);
                candidates[m] = bits;
                m += (((bits & 0x7FFF_FFFF) - threshold) >>> 31) ^ 1; // magnitude ≥ threshold
            }
            // four candidates at a time, each on its own lane of counts; a bucket seen for the first time (its max still
            // −1) makes fresh negative, and the threshold is raised after the block
            int fresh = 0;
            int j = 0;
            for (; j + 4 <= m; j += 4) {
                int b0 = candidates[j];
                int b1 = candidates[j + 1];
                int b2 = candidates[j + 2];
                int b3 = candidates[j + 3];
                counts[b0 >>> 23]++;
                counts[FLOAT_KEYS + (b1 >>> 23)]++;
                counts[2 * FLOAT_KEYS + (b2 >>> 23)]++;
                counts[3 * FLOAT_KEYS + (b3 >>> 23)]++;
                fresh |= max[b0 >>> 23] | max[b1 >>> 23] | max[b2 >>> 23] | max[b3 >>> 23];
                track(min, max, b0);
                track(min, max, b1);
                track(min, max, b2);
                track(min, max, b3);
            }
            for (; j < m; j++) {
                int bits = candidates[j];
                counts[(j & (LANES - 1)) * FLOAT_KEYS + (bits >>> 23)]++;
                fresh |= max[bits >>> 23];
                track(min, max, bits);
            }
            if (fresh < 0) {
                threshold = topExponent(max, kept, 8) << 23;
            }
        }
    }

    private void histogramTop(double[] delta, double[] residual, int n, int kept) {
        int[] counts = laneCounts;
        long[] min = minDouble;
        long[] max = maxDouble;
        long[] candidates = blockBitsDouble;
        Arrays.fill(counts, 0);
        Arrays.fill(min, Long.MAX_VALUE);
        Arrays.fill(max, -1);
        long threshold = 0;
        for (int block = 0; block < n; block += TOP_BLOCK) {
            int end = Math.min(n, block + TOP_BLOCK);
            int m = 0;
            for (int i = block; i < end; i++) {
                long bits = Double.doubleToRawLongBits(delta[i] + residual[i]);
                candidates[m] = bits;
                m += (int) ((((bits & 0x7FFF_FFFF_FFFF_FFFFL) - threshold) >>> 63) ^ 1);
            }
            long fresh = 0;
            int j = 0;
            for (; j + 4 <= m; j += 4) {
                long b0 = candidates[j];
                long b1 = candidates[j + 1];
                long b2 = candidates[j + 2];
                long b3 = candidates[j + 3];
                counts[(int) (b0 >>> 52)]++;
                counts[DOUBLE_KEYS + (int) (b1 >>> 52)]++;
                counts[2 * DOUBLE_KEYS + (int) (b2 >>> 52)]++;
                counts[3 * DOUBLE_KEYS + (int) (b3 >>> 52)]++;
                fresh |= max[(int) (b0 >>> 52)] | max[(int) (b1 >>> 52)] | max[(int) (b2 >>> 52)] | max[(int) (b3 >>> 52)];
                track(min, max, b0);
                track(min, max, b1);
                track(min, max, b2);
                track(min, max, b3);
            }
            for (; j < m; j++) {
                long bits = candidates[j];
                counts[(j & (LANES - 1)) * DOUBLE_KEYS + (int) (bits >>> 52)]++;
                fresh |= max[(int) (bits >>> 52)];
                track(min, max, bits);
            }
            if (fresh < 0) {
                threshold = (long) topExponent(max, kept, 11) << 52;
            }
        }
    }

    /**
     * The exponent of the {@code kept}-th present bucket (one whose max has been set) in promotion's order (exponent
     * descending, positive first), or 0 while fewer are present: no value of a smaller exponent can be kept.
     */
    private static int topExponent(int[] max, int kept, int exponentBits) {
        int found = 0;
        for (int exponent = (1 << exponentBits) - 1; exponent >= 0; exponent--) {
            found += (max[exponent] >= 0 ? 1 : 0) + (max[(1 << exponentBits) | exponent] >= 0 ? 1 : 0);
            if (found >= kept) {
                return exponent;
            }
        }
        return 0;
    }

    private static int topExponent(long[] max, int kept, int exponentBits) {
        int found = 0;
        for (int exponent = (1 << exponentBits) - 1; exponent >= 0; exponent--) {
            found += (max[exponent] >= 0 ? 1 : 0) + (max[(1 << exponentBits) | exponent] >= 0 ? 1 : 0);
            if (found >= kept) {
                return exponent;
            }
        }
        return 0;
    }

    /** With a zero bucket, its count is every value not in a kept bucket (pass A may not have counted them one by one). */
    private void countZeroSymbol(int n) {
        if (promotion.hasZeroSymbol) {
            long others = 0;
            for (int s = 1; s < promotion.symbolCount; s++) {
                others += promotion.symbolCounts[s];
            }
            promotion.symbolCounts[0] = n - others;
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

    // ---- representatives: midpoint of the bucket's min and max magnitude (the paper's rule), signed ----

    private void representativesFloat() {
        if (promotion.hasZeroSymbol) {
            symbolRepFloat[0] = -0.0f;
        }
        for (int s = promotion.hasZeroSymbol ? 1 : 0; s < promotion.symbolCount; s++) {
            int key = promotion.symbolKey[s];
            float low = Float.intBitsToFloat(minFloat[key]);
            float high = Float.intBitsToFloat(maxFloat[key]);
            float mid = low + (high - low) * 0.5f;
            symbolRepFloat[s] = (key >>> 8) != 0 ? -mid : mid;
        }
        // every key, present or not (pass A may have skipped a zero-bucket key): its symbol's value
        for (int key = 0; key < FLOAT_KEYS; key++) {
            keyRepFloat[key] = symbolRepFloat[promotion.keyToSymbol[key]];
        }
    }

    private void representativesDouble() {
        if (promotion.hasZeroSymbol) {
            symbolRepDouble[0] = -0.0;
        }
        for (int s = promotion.hasZeroSymbol ? 1 : 0; s < promotion.symbolCount; s++) {
            int key = promotion.symbolKey[s];
            double low = Double.longBitsToDouble(minDouble[key]);
            double high = Double.longBitsToDouble(maxDouble[key]);
            double mid = low + (high - low) * 0.5;
            symbolRepDouble[s] = (key >>> 11) != 0 ? -mid : mid;
        }
        for (int key = 0; key < DOUBLE_KEYS; key++) {
            keyRepDouble[key] = symbolRepDouble[promotion.keyToSymbol[key]];
        }
    }

    // ---- planning: CONSTANT (one symbol), DENSE (Huffman, emitted during pass B) or SPARSE (zero-run mode: pass B
    // collects the non-zero positions, then the smaller of zero-run and Huffman is emitted from them) ----

    /** The paper's code-table cache: reuse the chunk's cached lengths while the rank order of counts is unchanged. */
    private void buildSymbolTable(long[] counts, int symbolCount, int maxLength, ChunkState state) {
        tableReused = false;
        if (!options.reuseCodeTables()) {
            symbolTable.buildFromCounts(counts, symbolCount, maxLength);
            return;
        }
        int used = HuffmanTable.rankOrder(counts, symbolCount, rank);
        int[] cache = state.codeTableCache();
        if (cache != null && cache[0] == symbolCount && cache[1] == used
                && Arrays.equals(cache, 2, 2 + used, rank, 0, used)) {
            symbolTable.useLengths(cache, 2 + used, symbolCount, maxLength);
            tableReused = true;
            return;
        }
        symbolTable.buildFromCounts(counts, symbolCount, maxLength);
        int[] fresh = new int[2 + used + symbolCount];
        fresh[0] = symbolCount;
        fresh[1] = used;
        System.arraycopy(rank, 0, fresh, 2, used);
        System.arraycopy(symbolTable.lengths, 0, fresh, 2 + used, symbolCount);
        state.setCodeTableCache(fresh);
    }

    private void planCoding(int n, ChunkState state) {
        planCoding(n, state, options.entropy() == EntropyMode.ZERO_RUN);
    }

    private void planCoding(int n, ChunkState state, boolean zeroRunAllowed) {
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
            plan = Plan.CONSTANT;
            tableReused = false;
            return;
        }
        // small alphabets get codes of at most 6 bits so that the decoder can read two codes per lookup
        // (HuffmanTable.pairTable); the cost in size is measured in the benchmark's table
        int maxLength = symbolCount <= SHORT_CODE_ALPHABET ? HuffmanTable.MAX_PAIR_TABLE_LOG : HuffmanTable.MAX_CODE_LENGTH;
        buildSymbolTable(counts, symbolCount, maxLength, state);
        huffmanBits = symbolTable.encodedBits(counts);
        ensurePayload(huffmanBits);
        this.zeroRunAllowed = zeroRunAllowed;
        // zero-run can only pay off where zeros are the majority: there pass B only collects the non-zeros. Huffman codes
        // from the non-zeros too where almost all values are zeros (pass B's fast path, then the gaps written in batches);
        // below that, densely in pass B
        if (promotion.hasZeroSymbol && (zeroRunAllowed ? 2 * counts[0] >= n : counts[0] >= SPARSE_HUFFMAN_ZEROS * n)) {
            int nonZeros = (int) (n - counts[0]) + 1;
            if (nonZeroPositions.length < nonZeros) {
                nonZeroPositions = new int[nonZeros];
                nonZeroSymbols = new short[nonZeros];
            }
            plan = Plan.SPARSE;
        } else {
            plan = Plan.DENSE;
            // every key of the type, present or not (pass A may have skipped a zero-bucket key): its symbol's code
            for (int key = 0; key < keySpace; key++) {
                int s = promotion.keyToSymbol[key];
                keyCode[key] = symbolTable.codes[s] | (symbolTable.lengths[s] << 16);
            }
        }
    }

    private void finishCoding(int n) {
        switch (plan) {
            case CONSTANT -> {
                coding = Coding.CONSTANT;
                payloadLength = 0;
            }
            case DENSE -> coding = Coding.HUFFMAN;
            case SPARSE -> {
                long huffmanBytes = HuffmanTable.lengthsBytes(promotion.symbolCount) + 4 + ((huffmanBits + 7) >>> 3);
                if (zeroRunAllowed && zeroRunBytes(n) < huffmanBytes) {
                    coding = Coding.ZERO_RUN;
                    emitZeroRun(n);
                } else {
                    coding = Coding.HUFFMAN;
                    emitHuffmanFromNonZeros(n);
                }
            }
        }
    }

    // ---- pass B: r = δ − Q(δ) (exact: Q(δ) lies in δ's binade, Sterbenz), ũ += Q(δ); the zero bucket's value is
    // −0.0, the identity of +. δ is recomputed (the same float addition as pass A) rather than stored. ----

    private void update(float[] delta, float[] residual, float[] approx, int n) {
        float[] rep = keyRepFloat;
        for (int start = 0; start < n; start += HASH_BLOCK) {
            int end = Math.min(n, start + HASH_BLOCK);
            for (int i = start; i < end; i++) {
                float v = delta[i] + residual[i];
                float q = rep[Float.floatToRawIntBits(v) >>> 23];
                residual[i] = v - q;
                approx[i] += q;
            }
            running.update(approx, end);
        }
    }

    private void update(double[] delta, double[] residual, double[] approx, int n) {
        double[] rep = keyRepDouble;
        for (int start = 0; start < n; start += HASH_BLOCK) {
            int end = Math.min(n, start + HASH_BLOCK);
            for (int i = start; i < end; i++) {
                double v = delta[i] + residual[i];
                double q = rep[(int) (Double.doubleToRawLongBits(v) >>> 52)];
                residual[i] = v - q;
                approx[i] += q;
            }
            running.update(approx, end);
        }
    }

    /**
     * Pass B with Huffman emission: four codes (at most 48 bits) are joined off the critical path, then the container
     * takes them and flushes its whole bytes with one unconditional 8-byte store (the payload has 8 bytes of slack).
     */
    private void updateAndEmit(float[] delta, float[] residual, float[] approx, int n) {
        float[] rep = keyRepFloat;
        int[] table = keyCode;
        byte[] out = payload;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        int i = 0;
        int whole4 = n & ~3;
        while (i < whole4) {
            int blockEnd = Math.min(whole4, i + HASH_BLOCK);
            for (; i < blockEnd; i += 4) {
                float v0 = delta[i] + residual[i];
                float v1 = delta[i + 1] + residual[i + 1];
                float v2 = delta[i + 2] + residual[i + 2];
                float v3 = delta[i + 3] + residual[i + 3];
                int k0 = Float.floatToRawIntBits(v0) >>> 23;
                int k1 = Float.floatToRawIntBits(v1) >>> 23;
                int k2 = Float.floatToRawIntBits(v2) >>> 23;
                int k3 = Float.floatToRawIntBits(v3) >>> 23;
                float q0 = rep[k0];
                float q1 = rep[k1];
                float q2 = rep[k2];
                float q3 = rep[k3];
                residual[i] = v0 - q0;
                residual[i + 1] = v1 - q1;
                residual[i + 2] = v2 - q2;
                residual[i + 3] = v3 - q3;
                approx[i] += q0;
                approx[i + 1] += q1;
                approx[i + 2] += q2;
                approx[i + 3] += q3;
                int e0 = table[k0];
                int e1 = table[k1];
                int e2 = table[k2];
                int e3 = table[k3];
                int l0 = e0 >>> 16;
                int l01 = l0 + (e1 >>> 16);
                int l012 = l01 + (e2 >>> 16);
                long codes = (e0 & 0xFFFF) | ((long) (e1 & 0xFFFF) << l0)
                        | ((long) (e2 & 0xFFFF) << l01) | ((long) (e3 & 0xFFFF) << l012);
                container |= codes << bitCount;
                bitCount += l012 + (e3 >>> 16);
                LittleEndian.putLong(out, position, container);
                int whole = bitCount & ~7;
                position += whole >>> 3;
                container >>>= whole;
                bitCount -= whole;
            }
            running.update(approx, i);
        }
        for (; i < n; i++) {
            float v = delta[i] + residual[i];
            int k = Float.floatToRawIntBits(v) >>> 23;
            float q = rep[k];
            residual[i] = v - q;
            approx[i] += q;
            container |= (long) (table[k] & 0xFFFF) << bitCount;
            bitCount += table[k] >>> 16;
            if (bitCount >= 32) {
                LittleEndian.putInt(out, position, (int) container);
                position += 4;
                container >>>= 32;
                bitCount -= 32;
            }
        }
        payloadLength = flush(out, position, container, bitCount);
    }

    private void updateAndEmit(double[] delta, double[] residual, double[] approx, int n) {
        double[] rep = keyRepDouble;
        int[] table = keyCode;
        byte[] out = payload;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        int i = 0;
        int whole4 = n & ~3;
        while (i < whole4) {
            int blockEnd = Math.min(whole4, i + HASH_BLOCK);
            for (; i < blockEnd; i += 4) {
                double v0 = delta[i] + residual[i];
                double v1 = delta[i + 1] + residual[i + 1];
                double v2 = delta[i + 2] + residual[i + 2];
                double v3 = delta[i + 3] + residual[i + 3];
                int k0 = (int) (Double.doubleToRawLongBits(v0) >>> 52);
                int k1 = (int) (Double.doubleToRawLongBits(v1) >>> 52);
                int k2 = (int) (Double.doubleToRawLongBits(v2) >>> 52);
                int k3 = (int) (Double.doubleToRawLongBits(v3) >>> 52);
                double q0 = rep[k0];
                double q1 = rep[k1];
                double q2 = rep[k2];
                double q3 = rep[k3];
                residual[i] = v0 - q0;
                residual[i + 1] = v1 - q1;
                residual[i + 2] = v2 - q2;
                residual[i + 3] = v3 - q3;
                approx[i] += q0;
                approx[i + 1] += q1;
                approx[i + 2] += q2;
                approx[i + 3] += q3;
                int e0 = table[k0];
                int e1 = table[k1];
                int e2 = table[k2];
                int e3 = table[k3];
                int l0 = e0 >>> 16;
                int l01 = l0 + (e1 >>> 16);
                int l012 = l01 + (e2 >>> 16);
                long codes = (e0 & 0xFFFF) | ((long) (e1 & 0xFFFF) << l0)
                        | ((long) (e2 & 0xFFFF) << l01) | ((long) (e3 & 0xFFFF) << l012);
                container |= codes << bitCount;
                bitCount += l012 + (e3 >>> 16);
                LittleEndian.putLong(out, position, container);
                int whole = bitCount & ~7;
                position += whole >>> 3;
                container >>>= whole;
                bitCount -= whole;
            }
            running.update(approx, i);
        }
        for (; i < n; i++) {
            double v = delta[i] + residual[i];
            int k = (int) (Double.doubleToRawLongBits(v) >>> 52);
            double q = rep[k];
            residual[i] = v - q;
            approx[i] += q;
            container |= (long) (table[k] & 0xFFFF) << bitCount;
            bitCount += table[k] >>> 16;
            if (bitCount >= 32) {
                LittleEndian.putInt(out, position, (int) container);
                position += 4;
                container >>>= 32;
                bitCount -= 32;
            }
        }
        payloadLength = flush(out, position, container, bitCount);
    }

    /**
     * Pass B that remembers where the non-zero symbols are. Where zeros dominate (≥ 95%), a value below every kept
     * bucket's exponent takes one comparison: it is a zero-bucket value, its residual is {@code δ − (−0.0)} and ũ is not
     * written ({@code ũ + (−0.0) = ũ} for every ũ). Below 95% a branch on that mispredicts too often: every value takes
     * the whole step and the non-zeros are collected without a branch.
     */
    private void updateAndCollect(float[] delta, float[] residual, float[] approx, int n) {
        if (promotion.symbolCounts[0] >= SPARSE_HUFFMAN_ZEROS * n) {
            updateAndCollectSparse(delta, residual, approx, n);
            return;
        }
        float[] rep = keyRepFloat;
        int[] keyToSymbol = promotion.keyToSymbol;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        int m = 0;
        for (int start = 0; start < n; start += HASH_BLOCK) {
            int end = Math.min(n, start + HASH_BLOCK);
            for (int i = start; i < end; i++) {
                float v = delta[i] + residual[i];
                int key = Float.floatToRawIntBits(v) >>> 23;
                float q = rep[key];
                residual[i] = v - q;
                approx[i] += q;
                int symbol = keyToSymbol[key];
                // always write, advance past non-zeros only (the arrays have one slot of slack)
                positions[m] = i;
                symbols[m] = (short) symbol;
                m += (-symbol) >>> 31;
            }
            running.update(approx, end);
        }
        nonZeroCount = m;
    }

    private void updateAndCollect(double[] delta, double[] residual, double[] approx, int n) {
        if (promotion.symbolCounts[0] >= SPARSE_HUFFMAN_ZEROS * n) {
            updateAndCollectSparse(delta, residual, approx, n);
            return;
        }
        double[] rep = keyRepDouble;
        int[] keyToSymbol = promotion.keyToSymbol;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        int m = 0;
        for (int start = 0; start < n; start += HASH_BLOCK) {
            int end = Math.min(n, start + HASH_BLOCK);
            for (int i = start; i < end; i++) {
                double v = delta[i] + residual[i];
                int key = (int) (Double.doubleToRawLongBits(v) >>> 52);
                double q = rep[key];
                residual[i] = v - q;
                approx[i] += q;
                int symbol = keyToSymbol[key];
                // always write, advance past non-zeros only (the arrays have one slot of slack)
                positions[m] = i;
                symbols[m] = (short) symbol;
                m += (-symbol) >>> 31;
            }
            running.update(approx, end);
        }
        nonZeroCount = m;
    }

    private void updateAndCollectSparse(float[] delta, float[] residual, float[] approx, int n) {
        float[] rep = keyRepFloat;
        int[] keyToSymbol = promotion.keyToSymbol;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        // the lowest kept bucket's exponent, as magnitude bits (the kept buckets come in descending exponent order)
        int threshold = (promotion.symbolKey[promotion.symbolCount - 1] & 0xFF) << 23;
        int m = 0;
        for (int start = 0; start < n; start += HASH_BLOCK) {
            int end = Math.min(n, start + HASH_BLOCK);
            for (int i = start; i < end; i++) {
                float v = delta[i] + residual[i];
                int bits = Float.floatToRawIntBits(v);
                if ((bits & 0x7FFF_FFFF) < threshold) {
                    residual[i] = v - -0.0f;
                } else {
                    int key = bits >>> 23;
                    float q = rep[key];
                    residual[i] = v - q;
                    approx[i] += q;
                    int symbol = keyToSymbol[key];
                    if (symbol != 0) {
                        positions[m] = i;
                        symbols[m] = (short) symbol;
                        m++;
                    }
                }
            }
            running.update(approx, end);
        }
        nonZeroCount = m;
    }

    private void updateAndCollectSparse(double[] delta, double[] residual, double[] approx, int n) {
        double[] rep = keyRepDouble;
        int[] keyToSymbol = promotion.keyToSymbol;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        long threshold = (long) (promotion.symbolKey[promotion.symbolCount - 1] & 0x7FF) << 52;
        int m = 0;
        for (int start = 0; start < n; start += HASH_BLOCK) {
            int end = Math.min(n, start + HASH_BLOCK);
            for (int i = start; i < end; i++) {
                double v = delta[i] + residual[i];
                long bits = Double.doubleToRawLongBits(v);
                if ((bits & 0x7FFF_FFFF_FFFF_FFFFL) < threshold) {
                    residual[i] = v - -0.0;
                } else {
                    int key = (int) (bits >>> 52);
                    double q = rep[key];
                    residual[i] = v - q;
                    approx[i] += q;
                    int symbol = keyToSymbol[key];
                    if (symbol != 0) {
                        positions[m] = i;
                        symbols[m] = (short) symbol;
                        m++;
                    }
                }
            }
            running.update(approx, end);
        }
        nonZeroCount = m;
    }

    /**
     * ũ is hashed a block at a time, right after pass B writes the block: a separate pass read the whole chunk back from
     * memory (8-13% of an encode).
     */
    private static final int HASH_BLOCK = StateChecksum.Running.BLOCK;

    private static int flush(byte[] out, int position, long container, int bitCount) {
        while (bitCount > 0) {
            out[position++] = (byte) container;
            container >>>= 8;
            bitCount -= 8;
        }
        return position;
    }

    // ---- emission from the collected non-zeros ----

    /** Builds the run-class and non-zero-symbol codes; returns the ZERO_RUN section's size (FORMAT.md §4.3). */
    private long zeroRunBytes(int n) {
        int[] positions = nonZeroPositions;
        int m = nonZeroCount;
        long[] classCounts = runClassCounts;
        Arrays.fill(classCounts, 0);
        int previousEnd = 0;
        for (int j = 0; j < m; j++) {
            classCounts[RunLengthClasses.classOf(positions[j] - previousEnd + 1)]++;
            previousEnd = positions[j] + 1;
        }
        if (previousEnd < n) {
            classCounts[RunLengthClasses.classOf(n - previousEnd + 1)]++;
        }
        // the extra bits and the largest class, from the counts (not per run)
        long extraBits = 0;
        int maxClass = 0;
        for (int runClass = 0; runClass < RunLengthClasses.MAX_CLASSES; runClass++) {
            if (classCounts[runClass] > 0) {
                extraBits += classCounts[runClass] * RunLengthClasses.extraBits(runClass);
                maxClass = runClass;
            }
        }
        runClassCount = maxClass + 1;
        int nonZeroAlphabet = promotion.symbolCount - 1;
        System.arraycopy(promotion.symbolCounts, 1, nonZeroSymbolCounts, 0, nonZeroAlphabet);
        long header = 1 + alphabet(runTable, runClassCounts, runClassCount)
                + alphabet(nonZeroTable, nonZeroSymbolCounts, nonZeroAlphabet) + 4 + 4;
        long bits = extraBits + runTable.encodedBits(runClassCounts) + nonZeroTable.encodedBits(nonZeroSymbolCounts);
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

    /**
     * Writes each non-zero as one piece of at most 12 + 30 + 12 bits (its run's class code, the run's extra bits and its
     * symbol's code): the container takes it and flushes its whole bytes with one unconditional 8-byte store, as pass B's
     * dense emission does (the payload has 8 bytes of slack).
     */
    private void emitZeroRun(int n) {
        ensurePayload(runTable.encodedBits(runClassCounts) + nonZeroTable.encodedBits(nonZeroSymbolCounts)
                + 32L * (nonZeroCount + 1));
        byte[] out = payload;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        int[] runCodes = runTable.codes;
        int[] runLengths = runTable.lengths;
        int[] symbolCodes = nonZeroTable.codes;
        int[] symbolLengths = nonZeroTable.lengths;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        int previousEnd = 0;
        // each non-zero with the run before it, then the run after the last one (if any: no symbol follows it)
        for (int j = 0; j <= nonZeroCount; j++) {
            int at = j < nonZeroCount ? positions[j] : n;
            if (j == nonZeroCount && previousEnd >= n) {
                break;
            }
            int v = at - previousEnd + 1;
            int runClass = RunLengthClasses.classOf(v);
            int runLength = runLengths[runClass];
            int extra = RunLengthClasses.extraBits(runClass);
            long piece = runCodes[runClass] | (long) (v & ((1 << extra) - 1)) << runLength;
            int pieceLength = runLength + extra;
            if (j < nonZeroCount) {
                int symbol = symbols[j] - 1;
                piece |= (long) symbolCodes[symbol] << pieceLength;
                pieceLength += symbolLengths[symbol];
            }
            container |= piece << bitCount;
            bitCount += pieceLength;
            LittleEndian.putLong(out, position, container);
            int whole = bitCount & ~7;
            position += whole >>> 3;
            container >>>= whole;
            bitCount -= whole;
            previousEnd = at + 1;
        }
        payloadLength = flush(out, position, container, bitCount);
    }

    /**
     * The dense Huffman stream, rebuilt from the non-zeros: the gaps are runs of the zero symbol's code, written up to
     * 40 bits at a time, each piece flushed as in {@link #emitZeroRun} (a gap's last piece and the symbol's code after it
     * make at most 7 + 39 + 12 bits).
     */
    private void emitHuffmanFromNonZeros(int n) {
        byte[] out = payload;
        int zeroCode = symbolTable.codes[0];
        int zeroLength = symbolTable.lengths[0]; // 0: symbol 0 is absent, and so are gaps
        int batch = zeroLength == 0 ? 0 : 40 / zeroLength;
        int batchBits = batch * zeroLength;
        long pattern = 0;
        for (int k = 0; k < batch; k++) {
            pattern |= (long) zeroCode << (k * zeroLength);
        }
        int[] codes = symbolTable.codes;
        int[] lengths = symbolTable.lengths;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        long container = 0;
        int bitCount = 0;
        int position = 0;
        int next = 0;
        for (int j = 0; j <= nonZeroCount; j++) {
            int end = j < nonZeroCount ? positions[j] : n;
            int gap = end - next;
            if (gap > 0 && batch > 0) {
                for (; gap >= batch; gap -= batch) {
                    container |= pattern << bitCount;
                    bitCount += batchBits;
                    LittleEndian.putLong(out, position, container);
                    int whole = bitCount & ~7;
                    position += whole >>> 3;
                    container >>>= whole;
                    bitCount -= whole;
                }
                int bits = gap * zeroLength;
                container |= (pattern & ((1L << bits) - 1)) << bitCount;
                bitCount += bits;
            }
            if (j < nonZeroCount) {
                int symbol = symbols[j];
                container |= (long) codes[symbol] << bitCount;
                bitCount += lengths[symbol];
                next = end + 1;
            }
            LittleEndian.putLong(out, position, container);
            int whole = bitCount & ~7;
            position += whole >>> 3;
            container >>>= whole;
            bitCount -= whole;
        }
        payloadLength = flush(out, position, container, bitCount);
    }

    private void ensurePayload(long bits) {
        int needed = (int) ((bits + 7) >>> 3) + 8; // 8 bytes of slack for the unconditional 8-byte flushes
        if (payload.length < needed) {
            payload = new byte[needed];
        }
    }

    // ---- bfloat16 and float16 (FORMAT.md §1): the float32 kernels' steps with the type's own bucket keys, the
    // representatives rounded to the type and ũ rounded to the type after each addition. One pass each, not twins of
    // the unrolled float32 passes: pass B always collects the non-zero symbols and the Huffman stream is written from
    // them (emitHuffmanFromNonZeros), which is exactly the stream the dense pass would write. ----

    private EncodedChunk encodeSixteenBit(float[] delta, ChunkState state) {
        ValueType type = state.type();
        checkArguments(delta.length, state, type);
        int n = delta.length;
        float[] residual = state.residualFloat();
        float[] approx = state.approxFloat();
        int keys = type.keyCount();
        keySpace = keys;

        float approxMagnitude = histogramSixteenBit(delta, residual, approx, n, type);
        mergeLaneCounts(keys);
        int special = type.specialExponent();
        int negative = 1 << type.exponentBits;
        int overflow = Float.floatToRawIntBits(SixteenBitFloats.overflowThreshold(type));
        // a δ that rounds to an infinity in the type would give an infinite representative (FORMAT.md §6)
        if (keyCounts[special] + keyCounts[negative | special] > 0
                || maxFloat[special - 1] >= overflow || maxFloat[negative | (special - 1)] >= overflow) {
            throw badSixteenBit(delta, residual, type);
        }
        promotion.assign(keyCounts, type, options.promotionBits());
        representativesSixteenBit(type);
        checkReconstructionRange(delta, residual, approx, n, type, approxMagnitude);
        planCoding(n, state);
        if (plan != Plan.CONSTANT && nonZeroPositions.length < n + 1) {
            nonZeroPositions = new int[n + 1];
            nonZeroSymbols = new short[n + 1];
        }
        updateSixteenBit(delta, residual, approx, n, type);
        finishCoding(n);
        if (plan == Plan.DENSE) {
            emitHuffmanFromNonZeros(n);
        }
        return assemble(type, n, StateChecksum.of(approx, n, type));
    }

    /** Pass A for a 16-bit type; returns the largest |ũ|, for the overflow check. */
    private float histogramSixteenBit(float[] delta, float[] residual, float[] approx, int n, ValueType type) {
        int[] counts = laneCounts;
        int[] min = minFloat;
        int[] max = maxFloat;
        Arrays.fill(counts, 0, LANES * type.keyCount(), 0);
        Arrays.fill(min, Integer.MAX_VALUE);
        Arrays.fill(max, -1);
        float approxMagnitude = 0;
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits(delta[i] + residual[i]);
            int key = type.keyOf(bits);
            counts[key]++;
            int magnitude = bits & 0x7FFF_FFFF;
            if (magnitude < min[key]) {
                min[key] = magnitude;
            }
            if (magnitude > max[key]) {
                max[key] = magnitude;
            }
            approxMagnitude = Math.max(approxMagnitude, Math.abs(approx[i]));
        }
        return approxMagnitude;
    }

    private static BadValueException badSixteenBit(float[] delta, float[] residual, ValueType type) {
        float limit = SixteenBitFloats.overflowThreshold(type);
        for (int i = 0; i < delta.length; i++) {
            if (!(Math.abs(delta[i]) < limit)) {
                String what = Float.isNaN(delta[i]) ? "delta is NaN" : Float.isInfinite(delta[i]) ? "delta is infinite"
                        : "delta is beyond " + type + "'s finite range";
                return new BadValueException(i, delta[i], what);
            }
            if (!(Math.abs(delta[i] + residual[i]) < limit)) {
                return new BadValueException(i, delta[i], "delta + carried residual (" + residual[i] + ") is beyond " + type + "'s finite range");
            }
        }
        throw new AssertionError("a non-finite bucket was counted but no such value found");
    }

    /** The paper's midpoint computed as for float32, then rounded to the type (FORMAT.md §9). */
    private void representativesSixteenBit(ValueType type) {
        if (promotion.hasZeroSymbol) {
            symbolRepFloat[0] = -0.0f;
        }
        for (int s = promotion.hasZeroSymbol ? 1 : 0; s < promotion.symbolCount; s++) {
            int key = promotion.symbolKey[s];
            float low = Float.intBitsToFloat(minFloat[key]);
            float high = Float.intBitsToFloat(maxFloat[key]);
            float mid = SixteenBitFloats.round(type, low + (high - low) * 0.5f);
            symbolRepFloat[s] = (key >>> type.exponentBits) != 0 ? -mid : mid;
        }
        for (int key = 0; key < type.keyCount(); key++) {
            keyRepFloat[key] = keyCounts[key] == 0 ? 0f : symbolRepFloat[promotion.keyToSymbol[key]];
        }
    }

    /**
     * ũ + Q(δ) must stay finite in the type, or the record would rebuild an infinity: a step that would overflow is a
     * bad value, refused before the state changes. The exact pass runs only when the largest |ũ| and |q| could overflow.
     */
    private void checkReconstructionRange(float[] delta, float[] residual, float[] approx, int n, ValueType type, float approxMagnitude) {
        float limit = SixteenBitFloats.overflowThreshold(type);
        float repMagnitude = 0;
        for (int s = 0; s < promotion.symbolCount; s++) {
            repMagnitude = Math.max(repMagnitude, Math.abs(symbolRepFloat[s]));
        }
        if (approxMagnitude + repMagnitude < limit) {
            return;
        }
        for (int i = 0; i < n; i++) {
            float q = keyRepFloat[type.keyOf(Float.floatToRawIntBits(delta[i] + residual[i]))];
            if (!(Math.abs(approx[i] + q) < limit)) {
                throw new BadValueException(i, delta[i], "the reconstruction " + approx[i] + " + " + q + " overflows " + type);
            }
        }
    }

    /**
     * Pass B for a 16-bit type: {@code s = ũ + q} in float32, {@code ũ = round(s)} (FORMAT.md §1: rounding the float32
     * sum gives the correctly rounded sum), and {@code r = (δ − q) + (s − ũ)}: float32's {@code δ − q} plus what the
     * rounding to the type took, so a zero-bucket δ stays whole in r however small it is next to ũ.
     */
    private void updateSixteenBit(float[] delta, float[] residual, float[] approx, int n, ValueType type) {
        float[] rep = keyRepFloat;
        int[] keyToSymbol = promotion.keyToSymbol;
        boolean collect = plan != Plan.CONSTANT;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        int m = 0;
        for (int i = 0; i < n; i++) {
            float v = delta[i] + residual[i];
            int key = type.keyOf(Float.floatToRawIntBits(v));
            float q = rep[key];
            float sum = approx[i] + q;
            float next = SixteenBitFloats.round(type, sum);
            residual[i] = (v - q) + (sum - next);
            approx[i] = next;
            int symbol = keyToSymbol[key];
            if (collect && symbol != 0) {
                positions[m] = i;
                symbols[m] = (short) symbol;
                m++;
            }
        }
        nonZeroCount = m;
    }

    // ---- exact types (FORMAT.md §4.5): the symbols are the chunk's distinct non-zero integer deltas, symbol 0 the
    // unchanged value; the same HUFFMAN, ZERO_RUN and CONSTANT codings, or the deltas VERBATIM when those are larger.
    // The promotion options do not apply (nothing is quantized); zero-run is always allowed. ----

    /**
     * Codes one step of an exact (integer or bool) chunk: {@code delta[i]} is {@code u_t[i] − u_{t−1}[i]} modulo 2^(8B),
     * given as any long whose low 8B bits are that (a raw-delta record's little-endian integers, or a difference of
     * longs). ũ becomes u exactly; there is no residual. A BOOL value that would become other than 0 or 1 is a bad
     * value, refused before the state changes.
     */
    public EncodedChunk encode(long[] delta, ChunkState state) {
        ValueType type = state.type();
        if (!type.isExact()) {
            throw new IllegalArgumentException("a long delta codes an exact (integer or bool) chunk, not " + type);
        }
        checkArguments(delta.length, state, type);
        int n = delta.length;
        long[] approx = state.approxLong();
        long[] sorted = new long[n];
        int distinct = 0;
        for (int i = 0; i < n; i++) {
            long d = type.canonical(delta[i]);
            if (type == ValueType.BOOL && type.canonical(approx[i] + d) > 1) {
                throw new BadValueException(i, approx[i] + d, "a bool would become " + type.canonical(approx[i] + d) + ", not 0 or 1,");
            }
            if (d != 0) {
                sorted[distinct++] = d;
            }
        }
        Arrays.sort(sorted, 0, distinct);
        int nonZeroValues = distinct;
        distinct = 0;
        for (int j = 0; j < nonZeroValues; j++) {
            if (j == 0 || sorted[j] != sorted[j - 1]) {
                sorted[distinct++] = sorted[j];
            }
        }
        promotion.hasZeroSymbol = true;
        keySpace = 0; // no bucket keys: planCoding's key-to-code map stays empty
        boolean verbatim = distinct + 1 > HuffmanTable.MAX_SYMBOLS;
        if (!verbatim) {
            int symbolCount = distinct + 1;
            promotion.symbolCount = symbolCount;
            Arrays.fill(promotion.symbolCounts, 0, symbolCount, 0);
            System.arraycopy(sorted, 0, symbolRepLong, 1, distinct);
            if (nonZeroPositions.length < n + 1) {
                nonZeroPositions = new int[n + 1];
                nonZeroSymbols = new short[n + 1];
            }
            int m = 0;
            for (int i = 0; i < n; i++) {
                long d = type.canonical(delta[i]);
                if (d == 0) {
                    promotion.symbolCounts[0]++;
                } else {
                    int symbol = 1 + Arrays.binarySearch(sorted, 0, distinct, d);
                    promotion.symbolCounts[symbol]++;
                    nonZeroPositions[m] = i;
                    nonZeroSymbols[m] = (short) symbol;
                    m++;
                }
            }
            nonZeroCount = m;
            planCoding(n, state, true);
            finishCoding(n);
            if (plan == Plan.DENSE) {
                emitHuffmanFromNonZeros(n);
            }
            long coded = (long) distinct * type.bytes + switch (coding) {
                case CONSTANT -> 2;
                case HUFFMAN -> HuffmanTable.lengthsBytes(symbolCount) + 4 + payloadLength;
                case ZERO_RUN -> 1 + alphabetBytes(runTable, runClassCount) + alphabetBytes(nonZeroTable, symbolCount - 1) + 4 + 4 + payloadLength;
                case VERBATIM -> throw new AssertionError();
            };
            verbatim = coding != Coding.CONSTANT && (long) n * type.bytes < coded;
        }
        if (verbatim) {
            coding = Coding.VERBATIM;
            tableReused = false;
            promotion.symbolCount = 1;
            promotion.symbolCounts[0] = n;
            payloadLength = n * type.bytes;
            if (payload.length < payloadLength) {
                payload = new byte[payloadLength];
            }
            for (int i = 0; i < n; i++) {
                LittleEndian.putInteger(payload, i * type.bytes, type.bytes, delta[i]);
            }
        }
        for (int i = 0; i < n; i++) {
            approx[i] = type.canonical(approx[i] + delta[i]);
        }
        return assemble(type, n, StateChecksum.of(approx, n, type));
    }

    // ---- record assembly (FORMAT.md §2) ----

    private EncodedChunk assemble(ValueType type, int n, long stateChecksum) {
        int symbolCount = promotion.symbolCount;
        int first = promotion.hasZeroSymbol ? 1 : 0;
        int sectionBytes = switch (coding) {
            case CONSTANT -> 2;
            case HUFFMAN -> HuffmanTable.lengthsBytes(symbolCount) + 4 + payloadLength;
            case ZERO_RUN -> 1 + alphabetBytes(runTable, runClassCount) + alphabetBytes(nonZeroTable, symbolCount - 1) + 4 + 4 + payloadLength;
            case VERBATIM -> payloadLength;
        };
        int length = RecordFormat.OFFSET_REPRESENTATIVES + (symbolCount - first) * type.bytes + sectionBytes + RecordFormat.TRAILER_BYTES;
        byte[] record = new byte[length];
        record[0] = (byte) RecordFormat.MAGIC_0;
        record[1] = (byte) RecordFormat.MAGIC_1;
        record[RecordFormat.OFFSET_VERSION] = (byte) type.formatVersion; // the lowest version that expresses it (§7)
        record[RecordFormat.OFFSET_VALUE_TYPE] = (byte) type.wireCode;
        record[RecordFormat.OFFSET_FLAGS] = (byte) (promotion.hasZeroSymbol ? RecordFormat.FLAG_ZERO_SYMBOL : 0);
        record[RecordFormat.OFFSET_CODING] = (byte) coding.wireCode;
        record[RecordFormat.OFFSET_PROMOTION_BITS] = (byte) (type.isExact() ? 0 : options.promotionBits());
        LittleEndian.putInt(record, RecordFormat.OFFSET_VALUE_COUNT, n);
        LittleEndian.putShort(record, RecordFormat.OFFSET_SYMBOL_COUNT, symbolCount);
        int offset = RecordFormat.OFFSET_REPRESENTATIVES;
        for (int s = first; s < symbolCount; s++) {
            if (type.isExact()) {
                LittleEndian.putInteger(record, offset, type.bytes, symbolRepLong[s]);
            } else if (type == ValueType.FLOAT32) {
                LittleEndian.putInt(record, offset, Float.floatToRawIntBits(symbolRepFloat[s]));
            } else if (type.isSixteenBit()) {
                LittleEndian.putShort(record, offset, SixteenBitFloats.bitsOf(type, symbolRepFloat[s]) & 0xFFFF);
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
            case VERBATIM -> {
                // the deltas themselves are the section (copied below)
            }
        }
        System.arraycopy(payload, 0, record, offset, payloadLength);
        offset += payloadLength;
        LittleEndian.putLong(record, offset, stateChecksum);
        offset += 8;
        LittleEndian.putInt(record, offset, StateChecksum.ofRecordBytes(record, offset));
        return new EncodedChunk(record, coding, Arrays.copyOf(promotion.symbolCounts, symbolCount), promotion.hasZeroSymbol,
                tableReused && coding == Coding.HUFFMAN);
    }

    private static int alphabetBytes(HuffmanTable table, int size) {
        return table.tableLog == 0 ? 1 + 2 : 1 + HuffmanTable.lengthsBytes(size);
    }

    private static int writeAlphabet(HuffmanTable table, byte[] record, int offset) {
        if (table.tableLog == 0) {
            record[offset++] = (byte) RecordFormat.ALPHABET_SINGLE;
            LittleEndian.putShort(record, offset, table.decodeTable[0] >>> 4);
            return offset + 2;
        }
        record[offset++] = (byte) RecordFormat.ALPHABET_HUFFMAN;
        return table.writeLengths(record, offset);
    }
}
