package io.lccheckpoint.codec;

/**
 * Applies a chunk record to the previous reconstruction: {@code ũ_t = ũ_{t−1} + Q(δ_t)}, then proves the result with
 * the record's state checksum (FORMAT.md §5). Every malformed input ends in {@link MalformedChunkException} (with the
 * byte offset) or {@link ChecksumMismatchException}; no other exception escapes for bad bytes.
 *
 * <p>A decoder holds reusable scratch space and is not thread-safe; use one per thread. Like {@link ChunkEncoder}, it is
 * one kernel with float32 and float64 twins kept the same line for line (the pair-table Huffman path included): Java's
 * primitive arrays share no type, and a generic path would box every value. bfloat16 and float16 records run the
 * float32 kernel and then round the sums to their type (FORMAT.md §1, §3).
 */
public final class ChunkDecoder {
    private final HuffmanTable symbolTable = new HuffmanTable();
    private final HuffmanTable runTable = new HuffmanTable();
    private final HuffmanTable nonZeroTable = new HuffmanTable();
    private final BitReader reader = new BitReader();
    /** ũ's XXH64, taken a block at a time as the decode writes it (float32 and float64 records) */
    private final StateChecksum.Running running = new StateChecksum.Running();
    private final float[] symbolRepFloat = new float[HuffmanTable.MAX_SYMBOLS];
    private final double[] symbolRepDouble = new double[HuffmanTable.MAX_SYMBOLS];
    private final long[] symbolRepLong = new long[HuffmanTable.MAX_SYMBOLS];

    private int[] nonZeroPositions = new int[0];
    private short[] nonZeroSymbols = new short[0];

    // the parsed header of the record being decoded
    private byte[] record;
    private ValueType type;
    private boolean hasZeroSymbol;
    private Coding coding;
    private int valueCount;
    private int symbolCount;
    private int constantSymbol;
    private int runClassCount;
    private int nonZeroCount;
    private int payloadOffset;
    private int payloadLength;
    private long expectedStateChecksum;
    /** Where the next block of ũ is hashed; never for a 16-bit record, whose checksum is of the rounded values. */
    private int nextHash;

    /** Reads a record's header without decoding it (tools, diagnostics). Checks structure and the record checksum. */
    public static RecordInfo inspect(byte[] record) {
        ChunkDecoder decoder = new ChunkDecoder();
        decoder.parse(record);
        return new RecordInfo(decoder.type, decoder.coding, decoder.valueCount, decoder.symbolCount,
                record[RecordFormat.OFFSET_PROMOTION_BITS], decoder.hasZeroSymbol, record.length);
    }

    /**
     * The record's {@code stateChecksum} field (FORMAT.md §5): the XXH64 of the state it leads to, as written. Trust it
     * only for a record this codec wrote or one {@code apply} has checked; it saves hashing a state that was just hashed.
     */
    public static long stateChecksum(byte[] record) {
        if (record.length < RecordFormat.TRAILER_BYTES) {
            throw new MalformedChunkException(0, "record of " + record.length + " bytes has no trailer");
        }
        return LittleEndian.getLong(record, record.length - RecordFormat.TRAILER_BYTES);
    }

    /** Header facts of a record. */
    public record RecordInfo(ValueType type, Coding coding, int valueCount, int symbolCount, int promotionBits,
                             boolean hasZeroSymbol, int bytes) {
    }

    /**
     * Applies a record to a state's reconstruction, all or nothing: ũ changes only if the record is of the state's type
     * and size, decodes whole and its state checksum holds (the residual is not touched: it is the coder's). Returns the
     * record's state checksum, the XXH64 of ũ now.
     */
    public long applyTo(byte[] record, ChunkState state) {
        if (state.type().isExact()) {
            long[] next = new long[state.size()];
            apply(record, state.type(), state.approxLong(), next);
            System.arraycopy(next, 0, state.approxLong(), 0, next.length);
        } else if (state.type() != ValueType.FLOAT64) {
            float[] next = new float[state.size()];
            apply(record, state.approxFloat(), next);
            if (type != state.type()) {
                throw new MalformedChunkException(RecordFormat.OFFSET_VALUE_TYPE, "record holds " + type + " values but the state is " + state.type());
            }
            System.arraycopy(next, 0, state.approxFloat(), 0, next.length);
        } else {
            double[] next = new double[state.size()];
            apply(record, state.approxDouble(), next);
            System.arraycopy(next, 0, state.approxDouble(), 0, next.length);
        }
        return expectedStateChecksum;
    }

    /** In place: {@code approx} holds ũ_{t−1} and receives ũ_t. On an exception its contents are unspecified. */
    public void apply(byte[] record, float[] approx) {
        apply(record, approx, approx);
    }

    /**
     * {@code out = previous + Q(δ)}; {@code out} may be {@code previous}. For a FLOAT32 record, and for a BFLOAT16 or
     * FLOAT16 record, whose values are held in float32 arrays: {@code previous} must hold values of the type, and each
     * sum is rounded to the type (FORMAT.md §3).
     */
    public void apply(byte[] record, float[] previous, float[] out) {
        parse(record);
        checkTarget(type == ValueType.FLOAT64 || type.isExact() ? ValueType.FLOAT32 : type, previous.length, out.length);
        readRepresentatives();
        running.start();
        nextHash = type.isSixteenBit() ? Integer.MAX_VALUE : HASH_BLOCK;
        switch (coding) {
            case CONSTANT -> {
                float q = symbolRepFloat[constantSymbol];
                for (int start = 0; start < valueCount; start += HASH_BLOCK) {
                    int end = Math.min(valueCount, start + HASH_BLOCK);
                    for (int i = start; i < end; i++) {
                        out[i] = previous[i] + q;
                    }
                    hashUpTo(out, end);
                }
            }
            case HUFFMAN -> decodeHuffman(previous, out);
            case ZERO_RUN -> {
                decodeZeroRun();
                int[] positions = nonZeroPositions;
                short[] s = nonZeroSymbols;
                float[] rep = symbolRepFloat;
                int m = nonZeroCount;
                int j = 0;
                for (int start = 0; start < valueCount; start += HASH_BLOCK) {
                    int end = Math.min(valueCount, start + HASH_BLOCK);
                    if (out != previous) {
                        System.arraycopy(previous, start, out, start, end - start);
                    }
                    for (; j < m && positions[j] < end; j++) {
                        out[positions[j]] += rep[s[j]];
                    }
                    hashUpTo(out, end);
                }
            }
        }
        if (type.isSixteenBit()) {
            // the float32 sums rounded to the type: the correctly rounded sums (FORMAT.md §1); a value the record left
            // alone is already of the type and rounds to itself
            SixteenBitFloats.round(type, out, valueCount);
            verifyState(StateChecksum.of(out, valueCount, type));
            return;
        }
        verifyState(running.finish(out, valueCount));
    }

    public void apply(byte[] record, double[] approx) {
        apply(record, approx, approx);
    }

    public void apply(byte[] record, double[] previous, double[] out) {
        parse(record);
        checkTarget(ValueType.FLOAT64, previous.length, out.length);
        readRepresentatives();
        running.start();
        nextHash = HASH_BLOCK;
        switch (coding) {
            case CONSTANT -> {
                double q = symbolRepDouble[constantSymbol];
                for (int start = 0; start < valueCount; start += HASH_BLOCK) {
                    int end = Math.min(valueCount, start + HASH_BLOCK);
                    for (int i = start; i < end; i++) {
                        out[i] = previous[i] + q;
                    }
                    hashUpTo(out, end);
                }
            }
            case HUFFMAN -> decodeHuffman(previous, out);
            case ZERO_RUN -> {
                decodeZeroRun();
                int[] positions = nonZeroPositions;
                short[] s = nonZeroSymbols;
                double[] rep = symbolRepDouble;
                int m = nonZeroCount;
                int j = 0;
                for (int start = 0; start < valueCount; start += HASH_BLOCK) {
                    int end = Math.min(valueCount, start + HASH_BLOCK);
                    if (out != previous) {
                        System.arraycopy(previous, start, out, start, end - start);
                    }
                    for (; j < m && positions[j] < end; j++) {
                        out[positions[j]] += rep[s[j]];
                    }
                    hashUpTo(out, end);
                }
            }
        }
        verifyState(running.finish(out, valueCount));
    }

    /**
     * An exact (integer or bool) record of {@code stateType}: {@code out = previous + d} modulo 2^(8B), as canonical
     * longs (FORMAT.md §4.5); {@code out} may be {@code previous}. On an exception its contents are unspecified.
     */
    public void apply(byte[] record, ValueType stateType, long[] previous, long[] out) {
        parse(record);
        if (!stateType.isExact()) {
            throw new IllegalArgumentException(stateType + " is not an exact type");
        }
        checkTarget(stateType, previous.length, out.length);
        int n = valueCount;
        int width = type.bytes;
        symbolRepLong[0] = 0;
        for (int s = 1, offset = RecordFormat.OFFSET_REPRESENTATIVES; s < symbolCount; s++, offset += width) {
            symbolRepLong[s] = LittleEndian.getInteger(record, offset, width);
        }
        if (out != previous) {
            System.arraycopy(previous, 0, out, 0, n);
        }
        switch (coding) {
            case CONSTANT -> {
                long d = symbolRepLong[constantSymbol];
                for (int i = 0; i < n; i++) {
                    out[i] = type.canonical(out[i] + d);
                }
            }
            case HUFFMAN -> {
                BitReader in = reader;
                in.reset(record, payloadOffset, payloadLength);
                int[] table = symbolTable.decodeTable;
                int mask = (1 << symbolTable.tableLog) - 1;
                for (int i = 0; i < n; i++) {
                    int entry = table[(int) in.peek() & mask];
                    if ((entry & 15) == 0) {
                        throw new MalformedChunkException(payloadOffset, "bit stream holds a pattern that is no code");
                    }
                    in.consume(entry & 15);
                    out[i] = type.canonical(out[i] + symbolRepLong[entry >>> 4]);
                }
                in.finish();
            }
            case ZERO_RUN -> {
                decodeZeroRun();
                for (int j = 0; j < nonZeroCount; j++) {
                    int i = nonZeroPositions[j];
                    out[i] = type.canonical(out[i] + symbolRepLong[nonZeroSymbols[j]]);
                }
            }
            case VERBATIM -> {
                for (int i = 0; i < n; i++) {
                    out[i] = type.canonical(out[i] + LittleEndian.getInteger(record, payloadOffset + i * width, width));
                }
            }
        }
        if (type == ValueType.BOOL) {
            for (int i = 0; i < n; i++) {
                if (out[i] > 1) {
                    throw new MalformedChunkException(payloadOffset, "value " + i + " becomes " + out[i] + ", not a bool (0 or 1)");
                }
            }
        }
        verifyState(StateChecksum.of(out, n, type));
    }

    private void checkTarget(ValueType expected, int previousLength, int outLength) {
        if (type != expected) {
            throw new MalformedChunkException(RecordFormat.OFFSET_VALUE_TYPE, "record holds " + type + " values but the state is " + expected);
        }
        if (valueCount != previousLength || valueCount != outLength) {
            throw new MalformedChunkException(RecordFormat.OFFSET_VALUE_COUNT,
                    "record holds " + valueCount + " values but the state has " + previousLength + (outLength != previousLength ? " (output " + outLength + ")" : ""));
        }
    }

    private void verifyState(long actual) {
        if (actual != expectedStateChecksum) {
            throw new ChecksumMismatchException(ChecksumMismatchException.Kind.RECONSTRUCTED_STATE, expectedStateChecksum, actual);
        }
    }

    // ---- parsing (FORMAT.md §2-§5): structure first, then the record checksum, then the code tables ----

    private void parse(byte[] record) {
        this.record = record;
        require(0, RecordFormat.OFFSET_REPRESENTATIVES, "header");
        if (record[0] != RecordFormat.MAGIC_0 || record[1] != RecordFormat.MAGIC_1) {
            throw new MalformedChunkException(0, "bad magic: not a chunk record");
        }
        int version = record[RecordFormat.OFFSET_VERSION] & 0xFF;
        if (version < 1 || version > RecordFormat.MAX_VERSION) {
            throw new MalformedChunkException(RecordFormat.OFFSET_VERSION, "unsupported format version " + version + " (this decoder reads versions 1.." + RecordFormat.MAX_VERSION + ")");
        }
        type = ValueType.fromWire(record[RecordFormat.OFFSET_VALUE_TYPE] & 0xFF);
        // §7: version 1 knows float32 and float64 only
        if (type == null || type.formatVersion > version) {
            throw new MalformedChunkException(RecordFormat.OFFSET_VALUE_TYPE, "unknown value type " + (record[RecordFormat.OFFSET_VALUE_TYPE] & 0xFF) + " in format version " + version);
        }
        int flags = record[RecordFormat.OFFSET_FLAGS] & 0xFF;
        if ((flags & ~RecordFormat.KNOWN_FLAGS) != 0) {
            throw new MalformedChunkException(RecordFormat.OFFSET_FLAGS, "unknown flags " + Integer.toBinaryString(flags));
        }
        hasZeroSymbol = (flags & RecordFormat.FLAG_ZERO_SYMBOL) != 0;
        coding = Coding.fromWire(record[RecordFormat.OFFSET_CODING] & 0xFF);
        if (coding == null) {
            throw new MalformedChunkException(RecordFormat.OFFSET_CODING, "unknown coding " + (record[RecordFormat.OFFSET_CODING] & 0xFF));
        }
        int promotionBits = record[RecordFormat.OFFSET_PROMOTION_BITS] & 0xFF;
        if (promotionBits > CodecOptions.MAX_PROMOTION_BITS) {
            throw new MalformedChunkException(RecordFormat.OFFSET_PROMOTION_BITS, "promotion bits " + promotionBits + " out of range 0.." + CodecOptions.MAX_PROMOTION_BITS);
        }
        if (type.isExact()) {
            // §4.5: nothing is quantized; symbol 0 is always the unchanged value
            if (promotionBits != 0) {
                throw new MalformedChunkException(RecordFormat.OFFSET_PROMOTION_BITS, "an exact " + type + " record has promotion bits " + promotionBits + ", not 0");
            }
            if (!hasZeroSymbol) {
                throw new MalformedChunkException(RecordFormat.OFFSET_FLAGS, "an exact " + type + " record lacks the zero-symbol flag");
            }
        } else if (coding == Coding.VERBATIM) {
            throw new MalformedChunkException(RecordFormat.OFFSET_CODING, "VERBATIM coding in a " + type + " record (exact types only)");
        } else if (hasZeroSymbol != (promotionBits > 0)) {
            throw new MalformedChunkException(RecordFormat.OFFSET_FLAGS, "zero-symbol flag disagrees with promotion bits " + promotionBits);
        }
        if (record[RecordFormat.OFFSET_RESERVED] != 0) {
            throw new MalformedChunkException(RecordFormat.OFFSET_RESERVED, "reserved byte is not zero");
        }
        valueCount = LittleEndian.getInt(record, RecordFormat.OFFSET_VALUE_COUNT);
        if (valueCount < 1 || valueCount > RecordFormat.MAX_VALUES) {
            throw new MalformedChunkException(RecordFormat.OFFSET_VALUE_COUNT, "value count " + Integer.toUnsignedString(valueCount) + " out of range 1.." + RecordFormat.MAX_VALUES);
        }
        symbolCount = LittleEndian.getShort(record, RecordFormat.OFFSET_SYMBOL_COUNT);
        int maxSymbols = type.isExact() ? (coding == Coding.VERBATIM ? 1 : HuffmanTable.MAX_SYMBOLS)
                : promotionBits > 0 ? 1 << promotionBits : type.keyCount() - 2;
        if (symbolCount < 1 || symbolCount > maxSymbols || symbolCount > HuffmanTable.MAX_SYMBOLS) {
            throw new MalformedChunkException(RecordFormat.OFFSET_SYMBOL_COUNT, "symbol count " + symbolCount + " out of range 1.." + maxSymbols);
        }
        int offset = RecordFormat.OFFSET_REPRESENTATIVES;
        int representativesBytes = (symbolCount - (hasZeroSymbol ? 1 : 0)) * type.bytes;
        require(offset, representativesBytes, "representatives");
        offset += representativesBytes;

        switch (coding) {
            case VERBATIM -> {
                long bytes = (long) valueCount * type.bytes;
                require(offset, (int) Math.min(bytes, Integer.MAX_VALUE), "verbatim deltas");
                payloadOffset = offset;
                payloadLength = (int) bytes;
                offset += (int) bytes;
            }
            case CONSTANT -> {
                require(offset, 2, "constant symbol");
                constantSymbol = LittleEndian.getShort(record, offset);
                if (constantSymbol >= symbolCount) {
                    throw new MalformedChunkException(offset, "constant symbol " + constantSymbol + " >= symbol count " + symbolCount);
                }
                offset += 2;
                payloadOffset = offset;
                payloadLength = 0;
            }
            case HUFFMAN -> {
                int lengthsOffset = offset;
                int lengthsBytes = HuffmanTable.lengthsBytes(symbolCount);
                require(offset, lengthsBytes, "code lengths");
                if (!symbolTable.readLengths(record, offset, symbolCount)) {
                    throw new MalformedChunkException(offset + lengthsBytes - 1, "non-zero padding nibble after the code lengths");
                }
                offset += lengthsBytes;
                offset = readPayloadBounds(offset);
                checkLengthsAndChecksum(offset);
                String problem = symbolTable.buildFromLengths(symbolCount);
                if (problem != null) {
                    throw new MalformedChunkException(lengthsOffset, problem);
                }
                return;
            }
            case ZERO_RUN -> {
                if (!hasZeroSymbol || symbolCount < 2) {
                    throw new MalformedChunkException(RecordFormat.OFFSET_CODING, "zero-run coding needs a zero symbol and at least one other");
                }
                require(offset, 1, "run class count");
                runClassCount = record[offset] & 0xFF;
                if (runClassCount < 1 || runClassCount > RunLengthClasses.MAX_CLASSES) {
                    throw new MalformedChunkException(offset, "run class count " + runClassCount + " out of range 1.." + RunLengthClasses.MAX_CLASSES);
                }
                offset++;
                int runAlphabetOffset = offset;
                offset = readAlphabet(runTable, offset, runClassCount, "run classes");
                int symbolAlphabetOffset = offset;
                offset = readAlphabet(nonZeroTable, offset, symbolCount - 1, "non-zero symbols");
                require(offset, 4, "non-zero count");
                nonZeroCount = LittleEndian.getInt(record, offset);
                if (nonZeroCount < 1 || nonZeroCount > valueCount) {
                    throw new MalformedChunkException(offset, "non-zero count " + Integer.toUnsignedString(nonZeroCount) + " out of range 1.." + valueCount);
                }
                offset += 4;
                offset = readPayloadBounds(offset);
                checkLengthsAndChecksum(offset);
                buildAlphabet(runTable, runClassCount, runAlphabetOffset);
                buildAlphabet(nonZeroTable, symbolCount - 1, symbolAlphabetOffset);
                return;
            }
        }
        checkLengthsAndChecksum(offset);
    }

    private int readPayloadBounds(int offset) {
        require(offset, 4, "payload length");
        payloadLength = LittleEndian.getInt(record, offset);
        if (payloadLength < 0) {
            throw new MalformedChunkException(offset, "payload length " + Integer.toUnsignedString(payloadLength) + " is larger than any record");
        }
        offset += 4;
        require(offset, payloadLength, "payload");
        payloadOffset = offset;
        return offset + payloadLength;
    }

    private int readAlphabet(HuffmanTable table, int offset, int size, String what) {
        require(offset, 1, what + " alphabet kind");
        int kind = record[offset] & 0xFF;
        offset++;
        if (kind == RecordFormat.ALPHABET_SINGLE) {
            require(offset, 2, what + " single symbol");
            int symbol = LittleEndian.getShort(record, offset);
            if (symbol >= size) {
                throw new MalformedChunkException(offset, what + ": single symbol " + symbol + " >= alphabet size " + size);
            }
            table.buildSingle(symbol, size);
            return offset + 2;
        }
        if (kind != RecordFormat.ALPHABET_HUFFMAN) {
            throw new MalformedChunkException(offset - 1, what + ": unknown alphabet kind " + kind);
        }
        int bytes = HuffmanTable.lengthsBytes(size);
        require(offset, bytes, what + " code lengths");
        if (!table.readLengths(record, offset, size)) {
            throw new MalformedChunkException(offset + bytes - 1, what + ": non-zero padding nibble after the code lengths");
        }
        table.tableLog = -1; // built after the record checksum is verified
        return offset + bytes;
    }

    private void buildAlphabet(HuffmanTable table, int size, int kindOffset) {
        if (table.tableLog == -1) {
            String problem = table.buildFromLengths(size);
            if (problem != null) {
                throw new MalformedChunkException(kindOffset + 1, problem);
            }
        }
    }

    private void checkLengthsAndChecksum(int offset) {
        require(offset, RecordFormat.TRAILER_BYTES, "checksums");
        int end = offset + RecordFormat.TRAILER_BYTES;
        if (end != record.length) {
            throw new MalformedChunkException(end, (record.length - end) + " unexpected bytes after the end of the record");
        }
        expectedStateChecksum = LittleEndian.getLong(record, offset);
        int expected = LittleEndian.getInt(record, offset + 8);
        int actual = StateChecksum.ofRecordBytes(record, offset + 8);
        if (expected != actual) {
            throw new ChecksumMismatchException(ChecksumMismatchException.Kind.RECORD, expected, actual);
        }
    }

    private void require(int offset, int bytes, String what) {
        if ((long) offset + bytes > record.length) {
            throw new MalformedChunkException(record.length, "truncated: " + what + " needs " + bytes + " bytes at offset " + offset + " but the record ends at " + record.length);
        }
    }

    private void readRepresentatives() {
        int offset = RecordFormat.OFFSET_REPRESENTATIVES;
        int first = hasZeroSymbol ? 1 : 0;
        symbolRepFloat[0] = -0.0f; // the zero bucket adds nothing (FORMAT.md §3)
        symbolRepDouble[0] = -0.0;
        for (int s = first; s < symbolCount; s++) {
            if (type.isSixteenBit()) {
                float value = SixteenBitFloats.valueOf(type, (short) LittleEndian.getShort(record, offset));
                if (!Float.isFinite(value)) {
                    throw new MalformedChunkException(offset, "representative of symbol " + s + " is not finite");
                }
                symbolRepFloat[s] = value;
            } else if (type == ValueType.FLOAT32) {
                float value = Float.intBitsToFloat(LittleEndian.getInt(record, offset));
                if (!Float.isFinite(value)) {
                    throw new MalformedChunkException(offset, "representative of symbol " + s + " is not finite");
                }
                symbolRepFloat[s] = value;
            } else {
                double value = Double.longBitsToDouble(LittleEndian.getLong(record, offset));
                if (!Double.isFinite(value)) {
                    throw new MalformedChunkException(offset, "representative of symbol " + s + " is not finite");
                }
                symbolRepDouble[s] = value;
            }
            offset += type.bytes;
        }
    }

    // ---- bit stream decoding ----

    // Table-driven: one 8-byte load gives at least 57 valid bits, enough for floor(56 / tableLog) codes; each code is
    // one table lookup. Fused with the apply so that symbols never go through memory.

    private void decodeHuffman(float[] previous, float[] out) {
        if (zeroRunsPay()) {
            decodeHuffmanRuns(previous, out);
            return;
        }
        int n = valueCount;
        byte[] in = record;
        float[] rep = symbolRepFloat;
        int base = payloadOffset;
        int limit = payloadLength;
        long bitPosition = 0;
        int invalid = 0;
        int i = 0;
        if (symbolTable.pairTableFits() && n >= 4 << (2 * symbolTable.tableLog)) {
            // two symbols per lookup; a load holds floor(56 / (2·tableLog)) pairs
            symbolTable.buildPairTable();
            int[] pairs = symbolTable.pairTable;
            int pairMask = (1 << (2 * symbolTable.tableLog)) - 1;
            int pairsPerLoad = 56 / (2 * symbolTable.tableLog);
            int pairEnd = n & ~1;
            while (i < pairEnd) {
                hashUpTo(out, i);
                int bytePosition = (int) (bitPosition >>> 3);
                if (bytePosition > limit) {
                    throw overrun(i);
                }
                long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
                int end = Math.min(i + 2 * pairsPerLoad, pairEnd);
                int consumed = 0;
                for (; i < end; i += 2) {
                    int entry = pairs[(int) word & pairMask];
                    out[i] = previous[i] + rep[entry & 0xFF];
                    out[i + 1] = previous[i + 1] + rep[(entry >>> 8) & 0xFF];
                    int length = (entry >>> 16) & 0xFF;
                    invalid |= entry;
                    word >>>= length;
                    consumed += length;
                }
                bitPosition += consumed;
            }
        }
        int[] table = symbolTable.decodeTable;
        int mask = (1 << symbolTable.tableLog) - 1;
        int perLoad = 56 / symbolTable.tableLog;
        while (i < n) {
            hashUpTo(out, i);
            int bytePosition = (int) (bitPosition >>> 3);
            if (bytePosition > limit) {
                throw overrun(i);
            }
            long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
            int end = Math.min(i + perLoad, n);
            int consumed = 0;
            for (; i < end; i++) {
                int entry = table[(int) word & mask];
                int length = entry & 15;
                out[i] = previous[i] + rep[entry >>> 4];
                invalid |= length - 1;
                word >>>= length;
                consumed += length;
            }
            bitPosition += consumed;
        }
        finishHuffman(invalid, bitPosition);
    }

    private void decodeHuffman(double[] previous, double[] out) {
        if (zeroRunsPay()) {
            decodeHuffmanRuns(previous, out);
            return;
        }
        int n = valueCount;
        byte[] in = record;
        double[] rep = symbolRepDouble;
        int base = payloadOffset;
        int limit = payloadLength;
        long bitPosition = 0;
        int invalid = 0;
        int i = 0;
        if (symbolTable.pairTableFits() && n >= 4 << (2 * symbolTable.tableLog)) {
            // two symbols per lookup; a load holds floor(56 / (2·tableLog)) pairs
            symbolTable.buildPairTable();
            int[] pairs = symbolTable.pairTable;
            int pairMask = (1 << (2 * symbolTable.tableLog)) - 1;
            int pairsPerLoad = 56 / (2 * symbolTable.tableLog);
            int pairEnd = n & ~1;
            while (i < pairEnd) {
                hashUpTo(out, i);
                int bytePosition = (int) (bitPosition >>> 3);
                if (bytePosition > limit) {
                    throw overrun(i);
                }
                long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
                int end = Math.min(i + 2 * pairsPerLoad, pairEnd);
                int consumed = 0;
                for (; i < end; i += 2) {
                    int entry = pairs[(int) word & pairMask];
                    out[i] = previous[i] + rep[entry & 0xFF];
                    out[i + 1] = previous[i + 1] + rep[(entry >>> 8) & 0xFF];
                    int length = (entry >>> 16) & 0xFF;
                    invalid |= entry;
                    word >>>= length;
                    consumed += length;
                }
                bitPosition += consumed;
            }
        }
        int[] table = symbolTable.decodeTable;
        int mask = (1 << symbolTable.tableLog) - 1;
        int perLoad = 56 / symbolTable.tableLog;
        while (i < n) {
            hashUpTo(out, i);
            int bytePosition = (int) (bitPosition >>> 3);
            if (bytePosition > limit) {
                throw overrun(i);
            }
            long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
            int end = Math.min(i + perLoad, n);
            int consumed = 0;
            for (; i < end; i++) {
                int entry = table[(int) word & mask];
                int length = entry & 15;
                out[i] = previous[i] + rep[entry >>> 4];
                invalid |= length - 1;
                word >>>= length;
                consumed += length;
            }
            bitPosition += consumed;
        }
        finishHuffman(invalid, bitPosition);
    }

    // Where the zero bucket's code is one bit and almost every value is in it (at most 1.25 bits a value), a run of
    // zero codes is found in a word with one count of trailing bits and applied at once: ũ + (−0.0) is ũ, so the run's
    // values are copied (or, applied in place, left alone). Any other code is decoded from the table.

    private boolean zeroRunsPay() {
        return hasZeroSymbol && symbolTable.lengths[0] == 1 && 8L * payloadLength <= valueCount + valueCount / 4;
    }

    private void decodeHuffmanRuns(float[] previous, float[] out) {
        int n = valueCount;
        byte[] in = record;
        float[] rep = symbolRepFloat;
        int base = payloadOffset;
        int limit = payloadLength;
        int[] table = symbolTable.decodeTable;
        int mask = (1 << symbolTable.tableLog) - 1;
        long flip = symbolTable.codes[0] == 0 ? 0 : -1L; // makes the zero bucket's code a 0 bit
        boolean copy = out != previous;
        long bitPosition = 0;
        int invalid = 0;
        int i = 0;
        while (i < n) {
            hashUpTo(out, i);
            int bytePosition = (int) (bitPosition >>> 3);
            if (bytePosition > limit) {
                throw overrun(i);
            }
            long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
            int run = Math.min(Long.numberOfTrailingZeros((word ^ flip) | 1L << 56), n - i);
            if (run > 0) {
                if (copy) {
                    System.arraycopy(previous, i, out, i, run);
                }
                i += run;
                bitPosition += run;
            } else {
                int entry = table[(int) word & mask];
                int length = entry & 15;
                out[i] = previous[i] + rep[entry >>> 4];
                invalid |= length - 1;
                bitPosition += length;
                i++;
            }
        }
        finishHuffman(invalid, bitPosition);
    }

    private void decodeHuffmanRuns(double[] previous, double[] out) {
        int n = valueCount;
        byte[] in = record;
        double[] rep = symbolRepDouble;
        int base = payloadOffset;
        int limit = payloadLength;
        int[] table = symbolTable.decodeTable;
        int mask = (1 << symbolTable.tableLog) - 1;
        long flip = symbolTable.codes[0] == 0 ? 0 : -1L;
        boolean copy = out != previous;
        long bitPosition = 0;
        int invalid = 0;
        int i = 0;
        while (i < n) {
            hashUpTo(out, i);
            int bytePosition = (int) (bitPosition >>> 3);
            if (bytePosition > limit) {
                throw overrun(i);
            }
            long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
            int run = Math.min(Long.numberOfTrailingZeros((word ^ flip) | 1L << 56), n - i);
            if (run > 0) {
                if (copy) {
                    System.arraycopy(previous, i, out, i, run);
                }
                i += run;
                bitPosition += run;
            } else {
                int entry = table[(int) word & mask];
                int length = entry & 15;
                out[i] = previous[i] + rep[entry >>> 4];
                invalid |= length - 1;
                bitPosition += length;
                i++;
            }
        }
        finishHuffman(invalid, bitPosition);
    }

    // ---- ũ's checksum, a block at a time: each block is hashed as soon as it is final, while it is still in the cache
    // (a separate pass read the whole chunk back from memory: about a quarter of a 2-bit decode) ----

    private static final int HASH_BLOCK = StateChecksum.Running.BLOCK;

    private void hashUpTo(float[] out, int end) {
        if (end >= nextHash) {
            running.update(out, end);
            nextHash = end + HASH_BLOCK;
        }
    }

    private void hashUpTo(double[] out, int end) {
        if (end >= nextHash) {
            running.update(out, end);
            nextHash = end + HASH_BLOCK;
        }
    }

    private MalformedChunkException overrun(int index) {
        return new MalformedChunkException(payloadOffset + payloadLength, "bit stream overrun at value " + index + " of " + valueCount);
    }

    private void finishHuffman(int invalid, long bitPosition) {
        if (invalid < 0) {
            throw new MalformedChunkException(payloadOffset, "bit stream holds a pattern that is no code");
        }
        reader.reset(record, payloadOffset, payloadLength);
        reader.setBitPosition(bitPosition);
        reader.finish();
    }

    /**
     * One 8-byte load per (run, symbol) pair: a run code (≤ 12 bits), its extra bits (≤ 29) and a symbol code (≤ 12)
     * fit in the 57 bits a load guarantees.
     */
    private void decodeZeroRun() {
        int m = nonZeroCount;
        if (nonZeroPositions.length < m) {
            nonZeroPositions = new int[m];
            nonZeroSymbols = new short[m];
        }
        byte[] in = record;
        int base = payloadOffset;
        int limit = payloadLength;
        int[] runEntries = runTable.decodeTable;
        int runMask = (1 << runTable.tableLog) - 1;
        boolean runSingle = runTable.tableLog == 0;
        int[] symbolEntries = nonZeroTable.decodeTable;
        int symbolMask = (1 << nonZeroTable.tableLog) - 1;
        boolean symbolSingle = nonZeroTable.tableLog == 0;
        int[] positions = nonZeroPositions;
        short[] symbols = nonZeroSymbols;
        long bitPosition = 0;
        long position = 0;
        int invalid = 0;
        for (int j = 0; j < m; j++) {
            int bytePosition = (int) (bitPosition >>> 3);
            if (bytePosition > limit) {
                throw new MalformedChunkException(base + limit, "bit stream overrun at non-zero value " + j + " of " + m);
            }
            long word = LittleEndian.getLong(in, base + bytePosition) >>> (bitPosition & 7);
            int runEntry = runEntries[(int) word & runMask];
            int runLength = runEntry & 15;
            invalid |= runSingle ? 0 : runLength - 1;
            word >>>= runLength;
            int runClass = runEntry >>> 4;
            int extra = RunLengthClasses.extraBits(runClass);
            long v = RunLengthClasses.base(runClass) + (word & ((1L << extra) - 1));
            word >>>= extra;
            int symbolEntry = symbolEntries[(int) word & symbolMask];
            int symbolLength = symbolEntry & 15;
            invalid |= symbolSingle ? 0 : symbolLength - 1;
            bitPosition += runLength + extra + symbolLength;
            position += v - 1;
            if (position >= valueCount) {
                throw new MalformedChunkException(base, "zero run passes the end of the chunk before non-zero value " + j + " of " + m);
            }
            positions[j] = (int) position;
            symbols[j] = (short) ((symbolEntry >>> 4) + 1);
            position++;
        }
        if (invalid < 0) {
            throw new MalformedChunkException(base, "bit stream holds a pattern that is no code");
        }
        BitReader tail = reader;
        tail.reset(in, base, limit);
        tail.setBitPosition(bitPosition);
        if (position < valueCount) {
            position += readRun();
            if (position != valueCount) {
                throw new MalformedChunkException(base, "runs cover " + position + " values, the chunk has " + valueCount);
            }
        }
        tail.finish();
    }

    private long readRun() {
        BitReader in = reader;
        int entry = runTable.decodeTable[(int) in.peek() & ((1 << runTable.tableLog) - 1)];
        checkEntry(runTable, entry);
        in.consume(entry & 15);
        int runClass = entry >>> 4;
        int extra = RunLengthClasses.extraBits(runClass);
        long v = RunLengthClasses.base(runClass) + (extra == 0 ? 0 : in.read(extra));
        return v - 1;
    }

    private void checkEntry(HuffmanTable table, int entry) {
        if ((entry & 15) == 0 && table.tableLog != 0) {
            throw new MalformedChunkException(payloadOffset, "bit stream holds a pattern that is no code");
        }
    }
}
