package io.lccheckpoint.codec;

/**
 * Encoder settings.
 *
 * @param promotionBits x of priority promotion (1..8): keep the {@code 2^x - 1} buckets of largest exponent and merge the
 *                      rest into one bucket of value exactly 0; 0 means E only (every bucket kept, no promotion)
 * @param entropy       the entropy coders the encoder may choose from
 */
public record CodecOptions(int promotionBits, EntropyMode entropy) {
    public static final int MAX_PROMOTION_BITS = 8;

    public CodecOptions {
        if (promotionBits < 0 || promotionBits > MAX_PROMOTION_BITS) {
            throw new IllegalArgumentException("promotionBits must be 0 (E only) or 1.." + MAX_PROMOTION_BITS + ", was " + promotionBits);
        }
        if (entropy == null) {
            throw new IllegalArgumentException("entropy must not be null");
        }
        if (entropy == EntropyMode.ZERO_RUN && promotionBits == 0) {
            throw new IllegalArgumentException("zero-run coding needs a zero bucket: promotionBits must be >= 1");
        }
    }

    /** The paper's configuration: x-bit promotion and Huffman. */
    public static CodecOptions paper(int promotionBits) {
        return new CodecOptions(promotionBits, EntropyMode.HUFFMAN);
    }

    /** x-bit promotion with the sub-1-bit zero-run mode. */
    public static CodecOptions zeroRun(int promotionBits) {
        return new CodecOptions(promotionBits, EntropyMode.ZERO_RUN);
    }

    /** Exponent quantization only (the paper's "E" bar). */
    public static CodecOptions exponentOnly() {
        return new CodecOptions(0, EntropyMode.HUFFMAN);
    }
}
