package io.lccheckpoint.codec;

import java.util.Arrays;

/**
 * A canonical, length-limited prefix code over {@code 0..symbolCount-1} (FORMAT.md §4.2). Built from counts by the
 * encoder or from code lengths by the decoder; holds bit-reversed codes for LSB-first writing and a flat decoding table
 * indexed by the next {@code tableLog} bits. Reused across chunks: no allocation once grown.
 */
final class HuffmanTable {
    static final int MAX_CODE_LENGTH = 12;
    static final int MAX_SYMBOLS = 1 << MAX_CODE_LENGTH;

    int symbolCount;
    final int[] lengths = new int[MAX_SYMBOLS];
    final int[] codes = new int[MAX_SYMBOLS];
    /** entry = symbol << 4 | length; length 0 marks bit patterns that no code starts with. */
    final int[] decodeTable = new int[1 << MAX_CODE_LENGTH];
    int tableLog;
    /**
     * Two codes per lookup when they are short (tableLog ≤ 6, ≤ 256 symbols): indexed by the next 2·tableLog bits,
     * entry = first | second << 8 | total length << 16, or {@link #INVALID_PAIR} if a pattern is no code.
     */
    final int[] pairTable = new int[1 << MAX_CODE_LENGTH];
    static final int INVALID_PAIR = 0x8000_0000;
    static final int MAX_PAIR_TABLE_LOG = 6;

    // scratch for building
    private final int[] order = new int[MAX_SYMBOLS];
    private final long[] weight = new long[2 * MAX_SYMBOLS];
    private final int[] parent = new int[2 * MAX_SYMBOLS];
    private final int[] lengthCount = new int[64];
    private final int[] nextCode = new int[MAX_CODE_LENGTH + 2];

    /**
     * Code lengths for the counts: Huffman's algorithm with ties broken by symbol, then limited to {@code maxLength}.
     * Symbols of count 0 get length 0. Needs at least two symbols of non-zero count.
     */
    void buildFromCounts(long[] counts, int symbolCount, int maxLength) {
        this.symbolCount = symbolCount;
        int used = 0;
        for (int s = 0; s < symbolCount; s++) {
            lengths[s] = 0;
            if (counts[s] > 0) {
                order[used++] = s;
            }
        }
        if (used < 2) {
            throw new IllegalStateException("a Huffman code needs two used symbols, got " + used);
        }
        sortByCountThenSymbol(counts, used);

        // Two-queue Huffman: leaves 0..used-1 in ascending (count, symbol), internal nodes appended in creation order,
        // which is also ascending in weight. On equal weights the leaf is taken first: the result is deterministic.
        for (int i = 0; i < used; i++) {
            weight[i] = counts[order[i]];
        }
        int leaf = 0;
        int node = used;
        int next = used;
        for (int k = 0; k < used - 1; k++) {
            int a = (leaf < used && (node >= next || weight[leaf] <= weight[node])) ? leaf++ : node++;
            int b = (leaf < used && (node >= next || weight[leaf] <= weight[node])) ? leaf++ : node++;
            weight[next] = weight[a] + weight[b];
            parent[a] = next;
            parent[b] = next;
            next++;
        }
        int root = next - 1;
        // depths, reusing parent[] as depth for internal nodes (processed root-first)
        int[] depth = parent;
        depth[root] = 0;
        int maxDepth = 0;
        for (int i = root - 1; i >= 0; i--) {
            depth[i] = depth[parent[i]] + 1;
        }
        Arrays.fill(lengthCount, 0);
        for (int i = 0; i < used; i++) {
            int d = depth[i];
            maxDepth = Math.max(maxDepth, d);
            lengthCount[Math.min(d, maxLength)]++;
        }
        if (maxDepth <= maxLength) {
            for (int i = 0; i < used; i++) {
                lengths[order[i]] = depth[i];
            }
        } else {
            limitLengths(used, maxLength);
        }
        assignCodes(maxLength);
    }

    /**
     * Makes the clamped length histogram satisfy Kraft's inequality, then hands the shortest lengths to the most
     * frequent symbols. Each step removes one unit of Kraft excess while keeping the number of leaves.
     */
    private void limitLengths(int used, int maxLength) {
        long total = 0;
        for (int l = 1; l <= maxLength; l++) {
            total += (long) lengthCount[l] << (maxLength - l);
        }
        long capacity = 1L << maxLength;
        while (total > capacity) {
            lengthCount[maxLength]--;
            for (int l = maxLength - 1; l > 0; l--) {
                if (lengthCount[l] > 0) {
                    lengthCount[l]--;
                    lengthCount[l + 1] += 2;
                    break;
                }
            }
            total--;
        }
        // order[] is ascending by count: walk it backwards (most frequent first) handing out lengths from 1 up
        int l = 1;
        for (int i = used - 1; i >= 0; i--) {
            while (lengthCount[l] == 0) {
                l++;
            }
            lengthCount[l]--;
            lengths[order[i]] = l;
        }
    }

    private void sortByCountThenSymbol(long[] counts, int used) {
        // insertion sort for small alphabets, else a boxed-free merge via packing (count, symbol) into longs
        if (used <= 64) {
            for (int i = 1; i < used; i++) {
                int s = order[i];
                long c = counts[s];
                int j = i - 1;
                while (j >= 0 && (counts[order[j]] > c || (counts[order[j]] == c && order[j] > s))) {
                    order[j + 1] = order[j];
                    j--;
                }
                order[j + 1] = s;
            }
        } else {
            long[] packed = new long[used];
            for (int i = 0; i < used; i++) {
                // counts fit in 40 bits (values per chunk < 2^31), symbols in 12
                packed[i] = (counts[order[i]] << 12) | order[i];
            }
            Arrays.sort(packed);
            for (int i = 0; i < used; i++) {
                order[i] = (int) (packed[i] & (MAX_SYMBOLS - 1));
            }
        }
    }

    /** Canonical codes from lengths[]: by (length, symbol), bit-reversed for LSB-first output (FORMAT.md §4.2). */
    private void assignCodes(int maxLength) {
        Arrays.fill(lengthCount, 0);
        int maxUsed = 0;
        for (int s = 0; s < symbolCount; s++) {
            lengthCount[lengths[s]]++;
            maxUsed = Math.max(maxUsed, lengths[s]);
        }
        lengthCount[0] = 0;
        int code = 0;
        for (int l = 1; l <= maxLength; l++) {
            code = (code + lengthCount[l - 1]) << 1;
            nextCode[l] = code;
        }
        for (int s = 0; s < symbolCount; s++) {
            int l = lengths[s];
            if (l != 0) {
                codes[s] = Integer.reverse(nextCode[l]++) >>> (32 - l);
            }
        }
        tableLog = maxUsed;
    }

    /**
     * Decoder side: takes lengths already stored in {@link #lengths}, checks that they form a prefix code (Kraft sum at
     * most 1, at least two codes) and builds codes and the decoding table. Returns null if valid, else the reason.
     */
    String buildFromLengths(int symbolCount) {
        this.symbolCount = symbolCount;
        long kraft = 0;
        int used = 0;
        for (int s = 0; s < symbolCount; s++) {
            int l = lengths[s];
            if (l > MAX_CODE_LENGTH) {
                return "code length " + l + " of symbol " + s + " exceeds " + MAX_CODE_LENGTH;
            }
            if (l > 0) {
                used++;
                kraft += 1L << (MAX_CODE_LENGTH - l);
            }
        }
        if (used < 2) {
            return "a Huffman code needs at least two symbols, got " + used;
        }
        if (kraft > (1L << MAX_CODE_LENGTH)) {
            return "code lengths violate Kraft's inequality (not a prefix code)";
        }
        assignCodes(MAX_CODE_LENGTH);
        int size = 1 << tableLog;
        Arrays.fill(decodeTable, 0, size, 0);
        for (int s = 0; s < symbolCount; s++) {
            int l = lengths[s];
            if (l == 0) {
                continue;
            }
            int entry = (s << 4) | l;
            for (int index = codes[s]; index < size; index += 1 << l) {
                decodeTable[index] = entry;
            }
        }
        return null;
    }

    /** Encoder side: codes from lengths already chosen (the code-table cache). */
    void useLengths(int[] source, int sourceOffset, int symbolCount, int maxLength) {
        this.symbolCount = symbolCount;
        System.arraycopy(source, sourceOffset, lengths, 0, symbolCount);
        assignCodes(maxLength);
    }

    /** Symbols of non-zero count by (count descending, symbol ascending); returns how many. */
    static int rankOrder(long[] counts, int symbolCount, int[] out) {
        int used = 0;
        for (int s = 0; s < symbolCount; s++) {
            if (counts[s] > 0) {
                out[used++] = s;
            }
        }
        for (int i = 1; i < used; i++) {
            int s = out[i];
            int j = i - 1;
            while (j >= 0 && (counts[out[j]] < counts[s] || (counts[out[j]] == counts[s] && out[j] > s))) {
                out[j + 1] = out[j];
                j--;
            }
            out[j + 1] = s;
        }
        return used;
    }

    /** A one-symbol alphabet (FORMAT.md §4.3, kind 0): the symbol costs zero bits. */
    void buildSingle(int symbol, int symbolCount) {
        this.symbolCount = symbolCount;
        Arrays.fill(lengths, 0, symbolCount, 0);
        codes[symbol] = 0;
        tableLog = 0;
        decodeTable[0] = symbol << 4;
    }

    boolean pairTableFits() {
        return tableLog <= MAX_PAIR_TABLE_LOG && symbolCount <= 256;
    }

    void buildPairTable() {
        int mask = (1 << tableLog) - 1;
        int size = 1 << (2 * tableLog);
        for (int index = 0; index < size; index++) {
            int first = decodeTable[index & mask];
            int firstLength = first & 15;
            int second = decodeTable[(index >>> firstLength) & mask];
            int secondLength = second & 15;
            pairTable[index] = firstLength == 0 || secondLength == 0
                    ? INVALID_PAIR
                    : (first >>> 4) | ((second >>> 4) << 8) | ((firstLength + secondLength) << 16);
        }
    }

    long encodedBits(long[] counts) {
        long bits = 0;
        for (int s = 0; s < symbolCount; s++) {
            bits += counts[s] * lengths[s];
        }
        return bits;
    }

    /** Bytes of the nibble-packed code lengths of FORMAT.md §4.2. */
    static int lengthsBytes(int symbolCount) {
        return (symbolCount + 1) >>> 1;
    }

    int writeLengths(byte[] out, int offset) {
        for (int s = 0; s < symbolCount; s += 2) {
            int low = lengths[s];
            int high = s + 1 < symbolCount ? lengths[s + 1] : 0;
            out[offset++] = (byte) (low | (high << 4));
        }
        return offset;
    }

    /** Reads nibble-packed lengths; the caller has checked that the bytes are there. Returns false if padding is not zero. */
    boolean readLengths(byte[] in, int offset, int symbolCount) {
        for (int s = 0; s < symbolCount; s += 2) {
            int b = in[offset++] & 0xFF;
            lengths[s] = b & 15;
            if (s + 1 < symbolCount) {
                lengths[s + 1] = b >>> 4;
            } else if ((b >>> 4) != 0) {
                return false;
            }
        }
        return true;
    }
}
