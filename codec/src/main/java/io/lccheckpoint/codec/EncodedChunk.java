package io.lccheckpoint.codec;

import java.util.Arrays;

/**
 * One encoded chunk: the record's bytes and what went into them.
 *
 * @param record       the record (FORMAT.md)
 * @param coding       the coding the encoder chose
 * @param symbolCounts occurrences of each symbol; index 0 is the zero bucket when {@code hasZeroSymbol}
 * @param hasZeroSymbol whether symbol 0 is the merged zero bucket
 * @param codeTableReused whether the Huffman code came from the chunk's code-table cache
 */
public record EncodedChunk(byte[] record, Coding coding, long[] symbolCounts, boolean hasZeroSymbol, boolean codeTableReused) {

    public int valueCount() {
        long total = 0;
        for (long count : symbolCounts) {
            total += count;
        }
        return (int) total;
    }

    /** Order-0 Shannon entropy of the symbol stream, in bits for the whole chunk: the floor for any symbol-wise coder. */
    public double shannonBits() {
        double n = valueCount();
        double bits = 0;
        for (long count : symbolCounts) {
            if (count > 0) {
                bits -= count * (Math.log(count / n) / Math.log(2));
            }
        }
        return bits;
    }

    /** Fraction of values that promotion sent to the zero bucket (0 without promotion). */
    public double zeroFraction() {
        return hasZeroSymbol ? (double) symbolCounts[0] / valueCount() : 0;
    }

    public double bitsPerValue() {
        return record.length * 8.0 / valueCount();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncodedChunk other && Arrays.equals(record, other.record);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(record);
    }

    @Override
    public String toString() {
        return "EncodedChunk[" + coding + ", " + record.length + " bytes, " + valueCount() + " values]";
    }
}
