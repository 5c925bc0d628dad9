package io.lccheckpoint.codec;

/** How a record's symbols are coded; the wire code is the {@code coding} byte of FORMAT.md §2. */
public enum Coding {
    /** Every value has the same symbol; no payload. */
    CONSTANT(0),
    /** Canonical length-limited Huffman over all symbols (the paper's H stage). */
    HUFFMAN(1),
    /** Runs of the zero symbol and the non-zero symbols, each Huffman-coded: below 1 bit per value when zeros dominate. */
    ZERO_RUN(2),
    /** The deltas themselves, B bytes each: an exact chunk whose deltas are too varied to code smaller (FORMAT.md §4.5). */
    VERBATIM(3);

    final int wireCode;

    Coding(int wireCode) {
        this.wireCode = wireCode;
    }

    static Coding fromWire(int code) {
        for (Coding coding : values()) {
            if (coding.wireCode == code) {
                return coding;
            }
        }
        return null;
    }
}
