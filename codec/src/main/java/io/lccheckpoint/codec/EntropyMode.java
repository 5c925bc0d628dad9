package io.lccheckpoint.codec;

/** Which entropy coders the encoder may choose from for a chunk. */
public enum EntropyMode {
    /** The paper: canonical Huffman only (floor: 1 bit per value). */
    HUFFMAN,
    /**
     * Beyond the paper: per chunk, the smaller of Huffman and zero-run coding, decided by exact sizes so that it is
     * never larger than {@link #HUFFMAN}. Zero-run needs a zero bucket, i.e. promotion bits &gt; 0.
     */
    ZERO_RUN
}
