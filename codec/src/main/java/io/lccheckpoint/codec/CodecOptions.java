package io.lccheckpoint.codec;

/**
 * Encoder settings.
 *
 * @param promotionBits x of priority promotion (1..8): keep the {@code 2^x - 1} buckets of largest exponent and merge the
 *                      rest into one bucket of value exactly 0; 0 means E only (every bucket kept, no promotion)
 * @param entropy       the entropy coders the encoder may choose from
 * @param reuseCodeTables the paper's code-table cache: when the rank order of the symbol counts is the same as when the
 *                      chunk's cached Huffman code was built, code with the cached lengths instead of building new ones.
 *                      Records stay self-contained (the lengths are still written), so the option saves the tree build
 *                      and costs the bits a stale code loses; the cache is part of {@link ChunkState} and must be
 *                      persisted with it for byte-identical output after a restart. Off by default.
 */
public record CodecOptions(int promotionBits, EntropyMode entropy, boolean reuseCodeTables) {
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
    public CodecOptions(int promotionBits, EntropyMode entropy) {
        this(promotionBits, entropy, false);
    }

    public static CodecOptions paper(int promotionBits) {
        return new CodecOptions(promotionBits, EntropyMode.HUFFMAN);
    }

    public CodecOptions withCodeTableReuse(boolean reuse) {
        return new CodecOptions(promotionBits, entropy, reuse);
    }

    /** x-bit promotion with the sub-1-bit zero-run mode. */
    public static CodecOptions zeroRun(int promotionBits) {
        return new CodecOptions(promotionBits, EntropyMode.ZERO_RUN);
    }

    /** Exponent quantization only (the paper's "E" bar). */
    public static CodecOptions exponentOnly() {
        return new CodecOptions(0, EntropyMode.HUFFMAN);
    }

    /**
     * A stable text form, e.g. {@code bits=2,entropy=ZERO_RUN,reuse=false}: two sides that code the same chunk chain (a
     * trainer and an encoder, DESIGN.md §6) compare it to be sure their output would be the same.
     */
    public String describe() {
        return "bits=" + promotionBits + ",entropy=" + entropy.name() + ",reuse=" + reuseCodeTables;
    }

    /**
     * Reads options as {@link #describe()} writes them ({@code bits=2,entropy=ZERO_RUN,reuse=false}), or a shorter form a
     * user writes ({@code bits=3}, {@code entropy=zero_run,bits=2}) whose missing keys come from {@code base}. Keys:
     * {@code bits} (0..8), {@code entropy} (huffman or zero_run, any case), {@code reuse} (true or false).
     *
     * @throws IllegalArgumentException naming the key or value that is wrong
     */
    public static CodecOptions parse(String text, CodecOptions base) {
        int bits = base.promotionBits;
        EntropyMode entropy = base.entropy;
        boolean reuse = base.reuseCodeTables;
        for (String part : text.split(",")) {
            String[] pair = part.trim().split("=", 2);
            if (pair.length != 2 || pair[1].isBlank()) {
                throw new IllegalArgumentException("codec options '" + text + "': '" + part.trim() + "' is not key=value (bits, entropy, reuse)");
            }
            String value = pair[1].trim();
            switch (pair[0].trim()) {
                case "bits" -> {
                    try {
                        bits = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("codec options '" + text + "': bits=" + value + " is not a number");
                    }
                }
                case "entropy" -> {
                    try {
                        entropy = EntropyMode.valueOf(value.toUpperCase(java.util.Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("codec options '" + text + "': entropy=" + value + " is not huffman or zero_run");
                    }
                }
                case "reuse" -> {
                    if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
                        throw new IllegalArgumentException("codec options '" + text + "': reuse=" + value + " is not true or false");
                    }
                    reuse = Boolean.parseBoolean(value);
                }
                default -> throw new IllegalArgumentException("codec options '" + text + "': unknown key '" + pair[0].trim() + "' (bits, entropy, reuse)");
            }
        }
        try {
            return new CodecOptions(bits, entropy, reuse);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("codec options '" + text + "': " + e.getMessage(), e);
        }
    }
}
