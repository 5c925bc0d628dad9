package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HuffmanTableTest {

    @Test
    void fibonacciCountsAreLimitedToTheMaximumLengthAndStayAPrefixCode() {
        // Fibonacci weights give the deepest Huffman trees: 40 symbols would need ~39-bit codes
        long[] counts = new long[40];
        counts[0] = 1;
        counts[1] = 1;
        for (int i = 2; i < counts.length; i++) {
            counts[i] = counts[i - 1] + counts[i - 2];
        }
        HuffmanTable table = new HuffmanTable();
        table.buildFromCounts(counts, counts.length, HuffmanTable.MAX_CODE_LENGTH);
        double kraft = 0;
        for (int s = 0; s < counts.length; s++) {
            assertThat(table.lengths[s]).isBetween(1, HuffmanTable.MAX_CODE_LENGTH);
            kraft += Math.pow(2, -table.lengths[s]);
        }
        assertThat(kraft).isLessThanOrEqualTo(1.0);
        // more frequent symbols never get longer codes
        for (int s = 1; s < counts.length; s++) {
            assertThat(table.lengths[s]).isLessThanOrEqualTo(table.lengths[s - 1]);
        }
        // the decoder accepts the lengths and decodes every code back to its symbol
        HuffmanTable decoder = new HuffmanTable();
        System.arraycopy(table.lengths, 0, decoder.lengths, 0, counts.length);
        assertThat(decoder.buildFromLengths(counts.length)).isNull();
        for (int s = 0; s < counts.length; s++) {
            int entry = decoder.decodeTable[table.codes[s]];
            assertThat(entry >>> 4).isEqualTo(s);
            assertThat(entry & 15).isEqualTo(table.lengths[s]);
        }
    }

    @Test
    void unlimitedCodesMatchHuffmansOptimalCost() {
        long[] counts = {45, 13, 12, 16, 9, 5};
        HuffmanTable table = new HuffmanTable();
        table.buildFromCounts(counts, counts.length, HuffmanTable.MAX_CODE_LENGTH);
        // the textbook example: optimal cost 224 bits
        assertThat(table.encodedBits(counts)).isEqualTo(224);
    }

    @Test
    void theDecoderRefusesLengthsThatAreNotAPrefixCode() {
        HuffmanTable table = new HuffmanTable();
        table.lengths[0] = 1;
        table.lengths[1] = 1;
        table.lengths[2] = 1;
        assertThat(table.buildFromLengths(3)).contains("Kraft");
        table.lengths[0] = 13;
        assertThat(table.buildFromLengths(3)).contains("exceeds");
        table.lengths[0] = 1;
        table.lengths[1] = 0;
        table.lengths[2] = 0;
        assertThat(table.buildFromLengths(3)).contains("at least two");
    }

    @Test
    void pairTableDecodesTwoCodesAtOnce() {
        long[] counts = {100, 10, 5, 1};
        HuffmanTable table = new HuffmanTable();
        table.buildFromCounts(counts, 4, 6);
        HuffmanTable decoder = new HuffmanTable();
        System.arraycopy(table.lengths, 0, decoder.lengths, 0, 4);
        assertThat(decoder.buildFromLengths(4)).isNull();
        assertThat(decoder.pairTableFits()).isTrue();
        decoder.buildPairTable();
        for (int a = 0; a < 4; a++) {
            for (int b = 0; b < 4; b++) {
                int bits = table.codes[a] | (table.codes[b] << table.lengths[a]);
                int entry = decoder.pairTable[bits];
                assertThat(entry & 0xFF).isEqualTo(a);
                assertThat((entry >>> 8) & 0xFF).isEqualTo(b);
                assertThat(entry >>> 16).isEqualTo(table.lengths[a] + table.lengths[b]);
            }
        }
    }
}
