package io.lccheckpoint.codec;

/** Constants of the chunk record format, versions 1 to 3. See docs/FORMAT.md; section numbers below refer to it. */
final class RecordFormat {
    static final int MAGIC_0 = 'L';
    static final int MAGIC_1 = 'C';
    /**
     * §7: version 2 adds the value types bfloat16 and float16, version 3 the exact types (integers and bool) and the
     * VERBATIM coding; a record carries the lowest version that expresses it.
     */
    static final int MAX_VERSION = 3;

    // §2 header offsets
    static final int OFFSET_VERSION = 2;
    static final int OFFSET_VALUE_TYPE = 3;
    static final int OFFSET_FLAGS = 4;
    static final int OFFSET_CODING = 5;
    static final int OFFSET_PROMOTION_BITS = 6;
    static final int OFFSET_RESERVED = 7;
    static final int OFFSET_VALUE_COUNT = 8;
    static final int OFFSET_SYMBOL_COUNT = 12;
    static final int OFFSET_REPRESENTATIVES = 14;

    static final int FLAG_ZERO_SYMBOL = 1;
    static final int KNOWN_FLAGS = FLAG_ZERO_SYMBOL;

    /** §4.3 alphabet kinds */
    static final int ALPHABET_SINGLE = 0;
    static final int ALPHABET_HUFFMAN = 1;

    /** §2: a chunk holds 1..2^30 values. */
    static final int MAX_VALUES = 1 << 30;

    /** §5: state checksum (XXH64, 8 bytes) and record checksum (CRC-32C, 4 bytes). */
    static final int TRAILER_BYTES = 12;

    private RecordFormat() {
    }
}
